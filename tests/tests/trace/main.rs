//! The whole trace on the real control plane: one purchase through the producer's API, with
//! the producer, dbwriter, provisioner (real helm) and k8s-event-exporter running in-process
//! on one test prefix, and every hop of its trace id checked in one test: the HTTP answer,
//! the envelope, the AMQP headers, the provisioner's events, the namespace annotation, the
//! pods' annotation and label, the Kubernetes events the real controllers and scheduler wrote
//! (exported), the ledger rows, and the status timeline.

use std::future::Future;
use std::time::Duration;

use eda_tests::broker::{headers, json, TestBroker};
use eda_tests::control_plane::ControlPlane;
use eda_tests::db::TestDb;
use lapin::message::Delivery;
use serde_json::{json, Value};
use sqlx::Row;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "trace-test-token";
const WITHIN: Duration = Duration::from_secs(90);

type Task = JoinHandle<anyhow::Result<()>>;

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(WITHIN, f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen within {WITHIN:?}"))
}

/// The first delivery on `queue` whose routing key ends with `.<action>`: from those taken
/// earlier and kept in `seen`, else the next ones (the others are kept in `seen`).
async fn next_with_action(t: &TestBroker, queue: &str, seen: &mut Vec<Delivery>, action: &str) -> Delivery {
    let suffix = format!(".{action}");
    if let Some(i) = seen.iter().position(|d| d.routing_key.as_str().ends_with(&suffix)) {
        return seen.remove(i);
    }
    within(&format!("a `{action}` event"), async {
        loop {
            let d = t.take(queue, 1, WITHIN).await.remove(0);
            if d.routing_key.as_str().ends_with(&suffix) {
                return d;
            }
            seen.push(d);
        }
    })
    .await
}

#[tokio::test]
async fn one_purchase_carries_its_trace_id_through_every_hop_on_a_real_cluster() {
    eda_common::telemetry::init_for_tests();
    let cluster = ControlPlane::connect().await;
    let t = TestBroker::new().await;
    eda_common::topology::Topology::new(&t.prefix, eda_common::topology::QueueType::Quorum)
        .declare_shared(t.channel())
        .await
        .expect("declare the shared topology");
    let tap = t.tap("tap", "#").await;
    let db = TestDb::create().await;
    let client = ControlPlane::name(&t.prefix, "shop");
    let state_ns = ControlPlane::name(&t.prefix, "state");
    cluster.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": state_ns}})).await;
    let stop = CancellationToken::new();
    let mut tasks: Vec<(&str, Task)> = Vec::new();

    // dbwriter
    let mut c = dbwriter::Config::for_prefix(&t.prefix, &db.url);
    c.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    c.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
    t.track_service("dbwriter", c.common.retry_delays.0.len());
    let app = dbwriter::Application::build(c).await.expect("the dbwriter builds");
    let ready = app.readiness().clone();
    tasks.push(("dbwriter", tokio::spawn(app.run_until_stopped(stop.clone()))));
    within("the dbwriter consuming", ready.wait_for("consumer", true)).await;

    // k8s-event-exporter: only this test's tenant namespace, state in a namespace of its own.
    let mut c = k8s_event_exporter::Config::for_prefix(&t.prefix);
    c.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    c.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
    c.namespace_selector = format!("eda.io/client={client}");
    c.state_namespace = Some(state_ns.clone());
    let app = k8s_event_exporter::Application::build(c, cluster.client()).await.expect("the exporter builds");
    let ready = app.readiness();
    tasks.push(("k8s-event-exporter", tokio::spawn(app.run_until_stopped(stop.clone()))));
    within("the exporter's namespace reflector", ready.wait_for("namespaces", true)).await;

    // provisioner: the real helm on the control plane.
    let mut c = provisioner::Config::for_prefix(&t.prefix);
    c.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    c.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
    c.kubeconfig = Some(cluster.kubeconfig.clone());
    c.helm_bin = cluster.helm.clone();
    c.helm_timeout = Duration::from_secs(60);
    c.chart_root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    t.track_service("provisioner", c.common.retry_delays.0.len());
    let app = provisioner::Application::build(c).await.expect("the provisioner builds");
    let health = app.health().clone();
    tasks.push(("provisioner", tokio::spawn(app.run_until_stopped(stop.clone()))));
    within("the provisioner consuming", health.readiness.wait_for("consumer", true)).await;

    // producer
    let mut c = producer::Config::for_prefix(&t.prefix);
    c.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    c.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
    c.api_tokens = Some(TOKEN.to_owned().into());
    let app = producer::Application::build(c).await.expect("the producer builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let health = app.health().clone();
    tasks.push(("producer", tokio::spawn(app.run_until_stopped(stop.clone()))));
    for check in ["broker", producer::feed::tap::READINESS_CHECK] {
        within("the producer ready", health.readiness.wait_for(check, true)).await;
    }

    // 1. The request.
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{base}/api/v1/orders"))
        .bearer_auth(TOKEN)
        .json(&json!({"client": client, "product": "product-a", "environment": "development",
            "archtype": "saas", "hardware": "classic"}))
        .send()
        .await
        .expect("the producer answers");
    assert_eq!(answer.status(), 202);
    let answer: Value = answer.json().await.unwrap();
    let trace_id = answer["trace_id"].as_str().expect("the answer names the trace id").to_string();
    uuid::Uuid::parse_str(&trace_id).expect("the trace id is a UUID");
    let hex = trace_id.replace('-', "");
    assert_eq!(answer["event_type"], format!("mycompany.producer.event.{client}.published"));
    assert_eq!(answer["status_url"], format!("/api/v1/traces/{trace_id}"));

    // 2. The envelope and 3. its AMQP headers, on every hop the suite publishes.
    let mut seen = Vec::new();
    let published = next_with_action(&t, &tap, &mut seen, "published").await;
    let provisioning = next_with_action(&t, &tap, &mut seen, "provisioning").await;
    let provisioned = next_with_action(&t, &tap, &mut seen, "provisioned").await;
    for (hop, d) in
        [("published", &published), ("provisioning", &provisioning), ("provisioned", &provisioned)]
    {
        let body = json(d);
        assert_eq!(body["MessageAttributes"]["trace_id"], trace_id.as_str(), "{hop}: envelope");
        let h = headers(d);
        assert_eq!(h["trace_id"], trace_id, "{hop}: trace_id header");
        assert!(
            h["traceparent"].starts_with(&format!("00-{hex}-")),
            "{hop}: traceparent {}",
            h["traceparent"]
        );
        assert_eq!(h["ce-traceparent"], h["traceparent"], "{hop}: CloudEvents traceparent");
        assert_eq!(
            d.properties.correlation_id().as_ref().map(|s| s.as_str()),
            Some(trace_id.as_str()),
            "{hop}"
        );
        assert!(d.properties.message_id().is_some(), "{hop}: a message id");
    }
    assert_eq!(published.routing_key.as_str(), format!("mycompany.producer.event.{client}.published"));
    assert_eq!(json(&provisioned)["revision"], 1);
    assert_eq!(json(&provisioned)["dry_run"], false);

    // 4. The namespace and 5. the pods the real controllers made.
    let ns = cluster.get("namespaces", None, &client).await.expect("the tenant namespace");
    assert_eq!(ns["metadata"]["annotations"]["eda.io/trace-id"], trace_id.as_str());
    let pods = cluster.list("pods", Some(&client), Some(&format!("trace_id={trace_id}"))).await;
    assert_eq!(pods.len(), 1, "one pod of product-a, labelled with the trace id: {pods:#?}");
    assert_eq!(pods[0]["metadata"]["annotations"]["trace_id"], trace_id.as_str());
    assert_eq!(pods[0]["status"]["phase"], "Running");

    // 6. The Kubernetes events the real deployment controller, ReplicaSet controller and
    //    scheduler wrote, exported with the trace id.
    for reason in ["scalingreplicaset", "successfulcreate", "scheduled"] {
        let d = next_with_action(&t, &tap, &mut seen, reason).await;
        let body = json(&d);
        assert_eq!(d.routing_key.as_str(), format!("mycompany.k8s-event-exporter.event.{client}.{reason}"));
        assert_eq!(body["MessageAttributes"]["trace_id"], trace_id.as_str(), "{reason}");
        assert_eq!(headers(&d)["trace_id"], trace_id, "{reason}");
        assert_eq!(body["namespace"], client.as_str());
    }

    // 7. The ledger: every hop a row with the trace id, and the deployment provisioned.
    let pool = db.pool().await;
    let wanted =
        ["published", "provisioning", "provisioned", "scalingreplicaset", "successfulcreate", "scheduled"];
    within("the ledger rows", async {
        loop {
            let rows = sqlx::query("SELECT action FROM events WHERE trace_id = $1::uuid")
                .bind(&trace_id)
                .fetch_all(&pool)
                .await
                .expect("query events");
            let actions: Vec<String> = rows.iter().map(|r| r.get("action")).collect();
            if wanted.iter().all(|w| actions.iter().any(|a| a == w)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let deployment = sqlx::query(
        "SELECT namespace, release, client, product, status, trace_id::text AS trace FROM deployments WHERE trace_id = $1::uuid",
    )
    .bind(&trace_id)
    .fetch_one(&pool)
    .await
    .expect("a deployments row for the trace");
    assert_eq!(
        (
            deployment.get::<String, _>("namespace"),
            deployment.get::<String, _>("release"),
            deployment.get::<String, _>("status"),
            deployment.get::<String, _>("trace")
        ),
        (client.clone(), "product-a".to_string(), "provisioned".to_string(), trace_id.clone())
    );

    // 8. The status timeline the buyer sees.
    let timeline: Value = http
        .get(format!("{base}/api/v1/traces/{trace_id}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the trace endpoint answers")
        .json()
        .await
        .expect("the timeline is JSON");
    let actions: Vec<&str> = timeline["events"]
        .as_array()
        .expect("a list of events")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for w in wanted {
        assert!(actions.contains(&w), "the timeline has `{w}`: {actions:?}");
    }
    let position = |a: &str| actions.iter().position(|x| *x == a).unwrap();
    assert!(
        position("published") < position("provisioning")
            && position("provisioning") < position("provisioned")
    );

    stop.cancel();
    for (service, task) in tasks {
        within(&format!("{service} stopping"), task)
            .await
            .unwrap_or_else(|e| panic!("{service} panicked: {e}"))
            .unwrap_or_else(|e| panic!("{service} stopped with an error: {e:#}"));
    }
    for name in [&client, &state_ns] {
        cluster.delete("namespaces", None, name).await;
    }
    t.cleanup().await;
}
