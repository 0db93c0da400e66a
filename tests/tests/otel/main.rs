//! OpenTelemetry end to end: the producer, dbwriter and provisioner binaries, started as an
//! operator would with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at an OTLP receiver fixture,
//! export the spans of one purchase in its trace (the trace id the producer answers with) and
//! nested as the work flowed: the HTTP request, the messages it published, the reconcile pass
//! the order started, its helm run and Kubernetes applies, the events the pass published, and
//! the Kubernetes events the real controllers wrote, exported by the k8s-event-exporter.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use eda_tests::broker::TestBroker;
use eda_tests::control_plane::ControlPlane;
use eda_tests::db::TestDb;
use eda_tests::otlp::{OtlpReceiver, ReceivedSpan};
use serde_json::{json, Value};

const TOKEN: &str = "otel-test-token";
const WITHIN: Duration = Duration::from_secs(120);

/// A service binary of this workspace, running as its own process until dropped (SIGTERM, so it flushes its spans).
struct Process {
    name: &'static str,
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Process {
    fn start(name: &'static str, dir: &Path, env: &[(&str, String)]) -> Process {
        let bin = std::env::current_exe()
            .ok()
            .and_then(|test| test.parent()?.parent().map(|debug| debug.join(name)))
            .filter(|bin| bin.exists())
            .unwrap_or_else(|| {
                panic!("the {name} binary is not built beside the tests (cargo build --workspace)")
            });
        let port = free_port();
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Process { name, child, port, log }
    }

    async fn ready(&mut self) {
        let url = format!("http://127.0.0.1:{}/readyz", self.port);
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + WITHIN;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}): {}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{} not ready within {WITHIN:?}", self.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The one span of `service` named `name` in the trace.
fn one<'a>(spans: &'a [ReceivedSpan], service: &str, name: &str, trace: &str) -> &'a ReceivedSpan {
    let found: Vec<&ReceivedSpan> =
        spans.iter().filter(|s| s.service == service && s.name == name && s.trace_id == trace).collect();
    assert_eq!(found.len(), 1, "one {service} span {name:?} in trace {trace}, found {found:#?}");
    found[0]
}

/// The `message` span of `service` for the event whose type ends with `.<action>`.
fn message<'a>(spans: &'a [ReceivedSpan], service: &str, action: &str, trace: &str) -> &'a ReceivedSpan {
    let suffix = format!(".{action}");
    let found: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.service == service && s.name == "message" && s.trace_id == trace)
        .filter(|s| s.attribute("event_type").is_some_and(|t| t.ends_with(&suffix)))
        .collect();
    assert!(!found.is_empty(), "a {service} message span for `{action}` in trace {trace}");
    found[0]
}

fn has_message(spans: &[ReceivedSpan], service: &str, action: &str, trace: &str) -> bool {
    let suffix = format!(".{action}");
    spans.iter().any(|s| {
        s.service == service
            && s.name == "message"
            && s.trace_id == trace
            && s.attribute("event_type").is_some_and(|t| t.ends_with(&suffix))
    })
}

#[tokio::test]
async fn one_purchase_is_one_trace_of_nested_spans_from_the_request_to_helm() {
    let receiver = OtlpReceiver::start().await;
    let cluster = ControlPlane::connect().await;
    let t = TestBroker::new().await;
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let client = ControlPlane::name(&t.prefix, "otel");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");

    let common = [
        ("AMQP_URL", eda_tests::broker::amqp_url()),
        ("EDA_PREFIX", t.prefix.clone()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.clone()),
        // Export each batch at once rather than every 5 s (the SDK's standard variable).
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_string()),
    ];
    let with = |extra: &[(&'static str, String)]| -> Vec<(&'static str, String)> {
        common.iter().cloned().chain(extra.iter().cloned()).collect()
    };
    let mut dbwriter = Process::start("dbwriter", dir.path(), &with(&[("DATABASE_URL", db.url.clone())]));
    let mut provisioner = Process::start(
        "provisioner",
        dir.path(),
        &with(&[
            ("KUBECONFIG", cluster.kubeconfig.display().to_string()),
            ("PROVISIONER_HELM_BIN", cluster.helm.display().to_string()),
            ("PROVISIONER_HELM_TIMEOUT", "60s".into()),
            ("PROVISIONER_CHART_ROOT", repo.display().to_string()),
        ]),
    );
    let state_ns = ControlPlane::name(&t.prefix, "state");
    cluster.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": state_ns}})).await;
    let mut exporter = Process::start(
        "k8s-event-exporter",
        dir.path(),
        &with(&[
            ("KUBECONFIG", cluster.kubeconfig.display().to_string()),
            ("EXPORTER_NAMESPACE_SELECTOR", format!("eda.io/client={client}")),
            ("EXPORTER_STATE_NAMESPACE", state_ns),
        ]),
    );
    let mut producer =
        Process::start("producer", dir.path(), &with(&[("PRODUCER_API_TOKENS", TOKEN.into())]));
    for service in [&mut dbwriter, &mut provisioner, &mut exporter, &mut producer] {
        service.ready().await;
    }

    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/api/v1/orders", producer.port))
        .bearer_auth(TOKEN)
        .header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        .json(&json!({"client": client, "product": "product-a", "environment": "development",
            "archtype": "saas", "hardware": "classic"}))
        .send()
        .await
        .expect("the producer answers");
    assert_eq!(answer.status(), 202);
    let answer: Value = answer.json().await.unwrap();
    let trace_id = uuid::Uuid::parse_str(answer["trace_id"].as_str().unwrap()).expect("a UUID trace id");
    let trace = trace_id.simple().to_string();

    let spans = receiver
        .wait_until("the purchase's spans, up to the dbwriter recording an exported event", WITHIN, |spans| {
            // Every span asserted below: a span is exported when it ends, so the pass's own
            // comes after the events it published were recorded.
            let named = |service: &str, name: &str| {
                spans.iter().any(|s| s.service == service && s.name == name && s.trace_id == trace)
            };
            has_message(spans, "dbwriter", "provisioned", &trace)
                && has_message(spans, "dbwriter", "published", &trace)
                && has_message(spans, "dbwriter", "scalingreplicaset", &trace)
                && named("producer", "POST /api/v1/orders")
                && named("provisioner", "reconcile present")
                && named("k8s-event-exporter", "export ScalingReplicaSet")
                && spans
                    .iter()
                    .any(|s| s.service == "provisioner" && s.name == "helm upgrade" && s.trace_id == trace)
        })
        .await;

    // The request is the trace's root: eda's trace id is the purchase's own, and the caller's
    // trace (its traceparent) is linked, not joined.
    let request = one(&spans, "producer", "POST /api/v1/orders", &trace);
    assert_eq!(request.parent_span_id, "", "{request:#?}");
    assert_eq!(request.attribute("http.response.status_code"), Some("202"));
    assert_eq!(request.links, [("0af7651916cd43dd8448eb211c80319c".into(), "b7ad6b7169203331".into())]);

    // Both consumers of the order handle it under the request that published it.
    for service in ["dbwriter", "provisioner"] {
        let handled = message(&spans, service, "published", &trace);
        assert_eq!(handled.parent_span_id, request.span_id, "{service}: {handled:#?}");
    }

    // The reconcile pass the order started is under the provisioner's handling of it, and
    // helm and the applies are under the pass.
    let order = message(&spans, "provisioner", "published", &trace);
    let pass = one(&spans, "provisioner", "reconcile present", &trace);
    assert_eq!(pass.parent_span_id, order.span_id, "{pass:#?}");
    let helm = one(&spans, "provisioner", "helm upgrade", &trace);
    assert_eq!(helm.parent_span_id, pass.span_id);
    let applies: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.service == "provisioner" && s.name.starts_with("apply ") && s.trace_id == trace)
        .collect();
    let kinds: Vec<&str> = applies.iter().map(|s| s.name.as_str()).collect();
    for kind in ["apply Namespace", "apply ResourceQuota", "apply LimitRange", "apply NetworkPolicy"] {
        assert!(kinds.contains(&kind), "{kind} among {kinds:?}");
    }
    assert!(applies.iter().all(|s| s.parent_span_id == pass.span_id), "{applies:#?}");
    let namespace = applies.iter().find(|s| s.name == "apply Namespace").unwrap();
    assert_eq!(namespace.attribute("k8s.object"), Some(format!("Namespace {client}").as_str()));

    // The events the pass published are recorded under it.
    for action in ["provisioning", "provisioned"] {
        let recorded = message(&spans, "dbwriter", action, &trace);
        assert_eq!(recorded.parent_span_id, pass.span_id, "{action}: {recorded:#?}");
    }

    // The exporter's spans are under the order's (the namespace's eda.io/traceparent), and the
    // dbwriter records each exported event under its export.
    let export = one(&spans, "k8s-event-exporter", "export ScalingReplicaSet", &trace);
    assert_eq!(export.parent_span_id, order.span_id, "{export:#?}");
    let recorded = message(&spans, "dbwriter", "scalingreplicaset", &trace);
    assert_eq!(recorded.parent_span_id, export.span_id, "{recorded:#?}");

    // Probes make no spans: the readiness polls above are not in any trace.
    assert!(!spans.iter().any(|s| s.name.contains("/readyz")), "no span for /readyz");
}
