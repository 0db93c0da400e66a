//! A provisioner running in-process on a fresh topology prefix, against the real test control
//! plane with the real helm (or, for what a real one will not do on demand, the Kubernetes API
//! test fixture and the stand-in helm, both test fixtures), and ways to look at what it did.

use std::path::{Path, PathBuf};
use std::time::Duration;

use eda_common::config::parse_delays;
use eda_common::health::Health;
use eda_common::publisher::envelope_properties;
use eda_common::{Envelope, EventType};
use eda_tests::broker::{headers, json, TestBroker};
use eda_tests::control_plane::ControlPlane;
use eda_tests::kube_api::KubeApiTestServer;
use provisioner::config::{DeployerKind, Mode};
use provisioner::Shutdown as CancellationToken;
use provisioner::{Application, Config};
use serde_json::Value;
use tokio::task::JoinHandle;

pub const WAIT: Duration = Duration::from_secs(30);
pub const TRACE_ID: &str = "9a2ae9de-3f82-4f55-966b-47df50ff51ff";

/// The repository root: local chart paths of the catalog resolve here.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the crate is in the workspace").to_path_buf()
}

/// The stand-in helm executable (TEST FIXTURE).
pub fn fake_helm() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake-helm.sh")
}

/// Which Kubernetes API the provisioner talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kube {
    /// The real test control plane (`scripts/kube/control-plane.sh`).
    Real,
    /// The in-process API test fixture: only for faults a real server will not make on demand.
    Fixture,
}

/// Which helm the provisioner runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Helm {
    /// The real helm 4 of the test control plane.
    Real,
    /// The stand-in helm (TEST FIXTURE), answering from this script, one outcome a line (see
    /// the fixture's header): for helm failures a real helm will not produce on demand.
    Fake(Vec<&'static str>),
}

/// How a test wants its provisioner.
pub struct Setup {
    pub mode: Mode,
    pub deployer: DeployerKind,
    pub kube: Kube,
    pub helm: Helm,
    /// A catalog YAML instead of the built-in one.
    pub catalog: Option<String>,
    pub tune: Box<dyn FnOnce(&mut Config) + Send>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            mode: Mode::Apply,
            deployer: DeployerKind::Helm,
            kube: Kube::Real,
            helm: Helm::Real,
            catalog: None,
            tune: Box::new(|_| {}),
        }
    }
}

/// The API test fixture and the stand-in helm: for tests that assert which requests were made
/// (none, for a refused order) or inject faults a real server will not make on demand.
pub fn on_fixture() -> Setup {
    Setup { kube: Kube::Fixture, helm: Helm::Fake(Vec::new()), ..Setup::default() }
}

pub struct Harness {
    pub t: TestBroker,
    cluster: Option<ControlPlane>,
    fixture: Option<KubeApiTestServer>,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    /// A tap on every event the provisioner publishes (`*.provisioner.event.#`).
    pub events: String,
    pub health: Health,
    /// The provisioner, until [`Harness::stop_provisioner`].
    app: Option<Replica>,
    /// What the provisioner was started with, for a second replica.
    pub config: Config,
}

/// A second provisioner on the same queue and Tenants (another replica).
pub struct Replica {
    pub health: Health,
    shutdown: CancellationToken,
    run: JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    pub async fn start(config: Config) -> Replica {
        let app = Application::build(config).await.expect("the provisioner starts");
        let health = app.health().clone();
        let shutdown = CancellationToken::new();
        let run = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        tokio::time::timeout(WAIT, health.readiness.wait_for("consumer", true))
            .await
            .expect("the provisioner never started consuming");
        Replica { health, shutdown, run }
    }

    pub async fn finish(self) {
        self.shutdown.cancel();
        let stopped = tokio::time::timeout(WAIT, self.run).await.expect("the replica stops");
        stopped.expect("the replica did not panic").expect("the replica stopped cleanly");
    }
}

impl Harness {
    pub async fn start(setup: Setup) -> Harness {
        eda_common::telemetry::init_for_tests();
        let t = TestBroker::new().await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (cluster, fixture, kubeconfig) = match setup.kube {
            Kube::Real => {
                let cluster = ControlPlane::connect().await;
                let kubeconfig = cluster.kubeconfig.clone();
                (Some(cluster), None, kubeconfig)
            }
            Kube::Fixture => {
                let api = KubeApiTestServer::start().await;
                let kubeconfig = api.write_kubeconfig(dir.path());
                (None, Some(api), kubeconfig)
            }
        };
        let helm_bin = match &setup.helm {
            Helm::Real => cluster.as_ref().map_or_else(ControlPlane::default_helm, |c| c.helm.clone()),
            Helm::Fake(script) => {
                std::fs::write(dir.path().join("helm-script"), script.join("\n") + "\n").unwrap();
                helm_wrapper(dir.path())
            }
        };
        let mut config = Config::for_prefix(&t.prefix);
        config.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
        config.common.max_retries = 3;
        config.common.retry_delays = parse_delays("50ms,100ms").unwrap();
        config.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
        config.mode = setup.mode;
        config.deployer = setup.deployer;
        config.kubeconfig = Some(kubeconfig.clone());
        config.helm_bin = helm_bin;
        config.helm_timeout = Duration::from_secs(30);
        config.chart_root = repo_root();
        config.flux_timeout = Duration::from_secs(30);
        if let Some(yaml) = setup.catalog {
            let path = dir.path().join("catalog.yaml");
            std::fs::write(&path, yaml).unwrap();
            config.catalog = Some(path);
        }
        config.resync_interval = Duration::from_secs(600);
        config.lease_duration = Duration::from_secs(3);
        (setup.tune)(&mut config);
        t.track_service("provisioner", config.common.retry_delays.0.len());
        eda_common::topology::Topology::new(&t.prefix, config.common.queue_type)
            .declare_shared(t.channel())
            .await
            .expect("declare the shared topology");
        let events = t.tap("events", "*.provisioner.event.#").await;
        let app = Replica::start(config.clone()).await;
        let health = app.health.clone();
        Harness { t, cluster, fixture, dir, kubeconfig, events, health, app: Some(app), config }
    }

    /// The real control plane (the test's setup must be `Kube::Real`).
    pub fn cluster(&self) -> &ControlPlane {
        self.cluster.as_ref().expect("this test runs on the API test fixture, not the control plane")
    }

    /// The API test fixture (the test's setup must be `Kube::Fixture`).
    pub fn api(&self) -> &KubeApiTestServer {
        self.fixture.as_ref().expect("this test runs on the real control plane, not the API fixture")
    }

    /// A client (and namespace) name of this test's own: `<prefix>-<suffix>`, so tests that
    /// share the control plane never touch each other's tenants.
    pub fn client(&self, suffix: &str) -> String {
        ControlPlane::name(&self.t.prefix, suffix)
    }

    /// The tenant's Tenant once its phase is settled (`Provisioned`, `Failed`, `Deprovisioned`).
    pub async fn tenant(&self, namespace: &str, release: &str) -> Value {
        let settled = |t: &Value| {
            matches!(t["status"]["phase"].as_str(), Some("Provisioned" | "Failed" | "Deprovisioned"))
        };
        self.cluster().wait_for("tenants", None, &format!("{namespace}.{release}"), settled).await
    }

    /// The tenant's Tenant once it is in `phase`.
    pub async fn tenant_in(&self, namespace: &str, release: &str, phase: &str) -> Value {
        let name = format!("{namespace}.{release}");
        self.cluster().wait_for("tenants", None, &name, |t| t["status"]["phase"] == phase).await
    }

    /// Waits until the provisioner has acked `n` deliveries in all (its own metric).
    pub async fn wait_for_acked(&self, n: u64) {
        let acked = || {
            let text = self.health.metrics.encode();
            let line = text.lines().find(|l| l.starts_with("eda_messages_acked_total{"))?.to_string();
            line.rsplit(' ').next()?.parse::<f64>().ok()
        };
        let waited = tokio::time::timeout(WAIT, async {
            while acked().unwrap_or(0.0) < n as f64 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "fewer than {n} deliveries acked within {WAIT:?}: {:?}", acked());
    }

    /// Waits until a series reaches `at_least` (the reconciler counts a pass after its
    /// status write, which a test may see first).
    pub async fn wait_for_metric(&self, series: &str, at_least: f64) {
        let waited = tokio::time::timeout(WAIT, async {
            while self.metric(series).unwrap_or(0.0) < at_least {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        assert!(waited.await.is_ok(), "{series} < {at_least}: {}", self.health.metrics.encode());
    }

    /// One metric line's value, by its exact series (name and labels).
    pub fn metric(&self, series: &str) -> Option<f64> {
        let text = self.health.metrics.encode();
        let line =
            text.lines().find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))?.to_string();
        line.rsplit(' ').next()?.parse().ok()
    }

    /// The fixture's requests other than the reconciler's own bookkeeping (its Lease, and the
    /// list and watch of Tenants): what an order made the provisioner do.
    pub fn effect_requests(&self) -> Vec<String> {
        self.api()
            .requests()
            .iter()
            .map(|r| r.method_and_path())
            .filter(|r| !r.contains("/apis/coordination.k8s.io/") && r != "GET /apis/eda.io/v1alpha1/tenants")
            .collect()
    }

    /// Publishes an envelope as a producer would.
    pub async fn publish(&self, envelope: &Envelope) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.publish_with_id(envelope, &id).await;
        id
    }

    pub async fn publish_with_id(&self, envelope: &Envelope, message_id: &str) {
        let props = envelope_properties(envelope, message_id, "producer");
        self.t.publish_event(envelope.event_type().as_str(), &envelope.to_json(), props).await;
    }

    /// The next `n` provisioner events as (action, body).
    pub async fn next_events(&self, n: usize) -> Vec<(String, Value)> {
        let deliveries = self.t.take(&self.events, n, WAIT).await;
        deliveries
            .iter()
            .map(|d| {
                let body = json(d);
                let event_type =
                    body["MessageAttributes"]["event_type"]["Value"].as_str().unwrap().to_string();
                let action = event_type.rsplit('.').next().unwrap().to_string();
                (action, body)
            })
            .collect()
    }

    pub async fn actions(&self, n: usize) -> Vec<String> {
        self.next_events(n).await.into_iter().map(|(a, _)| a).collect()
    }

    /// The next `n` dead letters' `x-eda-error` headers.
    pub async fn dead_reasons(&self, n: usize) -> Vec<String> {
        let dead = self.t.take(&self.t.name("dead"), n, WAIT).await;
        dead.iter().map(|d| headers(d).get("x-eda-error").cloned().unwrap_or_default()).collect()
    }

    /// Each helm call's argument vector, oldest first.
    pub fn helm_calls(&self) -> Vec<Vec<String>> {
        let log = std::fs::read_to_string(self.dir.path().join("helm-log")).unwrap_or_default();
        log.lines().map(|l| serde_json::from_str(l).expect("a fake-helm log line is a JSON array")).collect()
    }

    /// The values file helm call `n` (1-based) was given, parsed.
    pub fn helm_values(&self, n: usize) -> Value {
        let path = self.dir.path().join(format!("helm-log.values.{n}"));
        let yaml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_yaml::from_str(&yaml).expect("the values file is YAML")
    }

    /// Stops the in-process provisioner (the test goes on with other ones).
    pub async fn stop_provisioner(&mut self) {
        if let Some(app) = self.app.take() {
            app.finish().await;
        }
    }

    pub async fn finish(mut self) {
        self.stop_provisioner().await;
        if let Some(cluster) = &self.cluster {
            // This test's Tenants and Lease go, then its namespaces (and so its releases);
            // nobody waits for them.
            for tenant in
                cluster.list("tenants", None, Some(&format!("eda.io/prefix={}", self.t.prefix))).await
            {
                cluster
                    .delete("tenants", None, tenant["metadata"]["name"].as_str().unwrap_or_default())
                    .await;
            }
            cluster.delete("leases", Some("default"), &format!("{}-provisioner", self.t.prefix)).await;
            for ns in cluster.list("namespaces", None, None).await {
                let name = ns["metadata"]["name"].as_str().unwrap_or_default();
                if name.starts_with(&format!("{}-", self.t.prefix)) {
                    cluster.delete("namespaces", None, name).await;
                }
            }
        }
        self.t.cleanup().await;
    }
}

/// A per-test helm: the fixture with this test's log and script (the environment of the
/// test process is shared by parallel tests, so it cannot carry them).
fn helm_wrapper(dir: &Path) -> PathBuf {
    let wrapper = dir.join("helm");
    let script = format!(
        "#!/bin/sh\nFAKE_HELM_LOG='{log}' FAKE_HELM_SCRIPT='{script}' exec '{helm}' \"$@\"\n",
        log = dir.join("helm-log").display(),
        script = dir.join("helm-script").display(),
        helm = fake_helm().display(),
    );
    std::fs::write(&wrapper, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    wrapper
}

/// An order as the producer publishes it.
pub fn order(client: &str, action: &str) -> Envelope {
    order_with(client, action, serde_json::json!({}))
}

/// An order with some body fields replaced.
pub fn order_with(client: &str, action: &str, over: Value) -> Envelope {
    let segment =
        if EventType::new("mycompany", "producer", client, action).is_ok() { client } else { "evil" };
    let event_type = EventType::new("mycompany", "producer", segment, action).unwrap();
    let mut body = serde_json::json!({
        "client": client, "namespace": client, "environment": "development",
        "archtype": "saas", "hardware": "dedicated", "product": "product-a"
    });
    for (k, v) in over.as_object().unwrap() {
        body[k] = v.clone();
    }
    Envelope::new(event_type, TRACE_ID.parse().unwrap(), body.as_object().unwrap().clone())
}

/// The field managers recorded on an object.
pub fn managers(object: &Value) -> Vec<String> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|m| m.iter().filter_map(|f| f["manager"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}
