//! A test's world: its own broker prefix with a tap on the exporter's events, its own
//! Kubernetes API fixture, and exporters run in-process.

use std::time::Duration;

use eda_common::health::Health;
use eda_common::topology::{QueueType, Topology};
use eda_tests::broker::{json, TestBroker};
use eda_tests::kube_api::KubeApiTestServer;
use k8s_event_exporter::{Application, Config};
use lapin::message::Delivery;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Bounds a hung test; never a timing assertion.
pub const WITHIN: Duration = Duration::from_secs(30);
/// Where the exporters of these tests keep their Lease and watermark.
pub const STATE_NAMESPACE: &str = "eda-system";

pub struct World {
    pub t: TestBroker,
    pub kube: KubeApiTestServer,
    pub tap: String,
}

/// An exporter running in-process.
pub struct Running {
    pub health: Health,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops it as SIGTERM would and waits until it has finished (watermark written, lease released).
    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.expect("exporter task panicked").expect("exporter ended with an error");
    }

    pub fn metrics(&self) -> String {
        self.health.metrics.encode()
    }
}

impl World {
    pub async fn new() -> World {
        World::with(KubeApiTestServer::start().await).await
    }

    pub async fn with(kube: KubeApiTestServer) -> World {
        eda_common::telemetry::init_for_tests();
        let t = TestBroker::new().await;
        // The tap binds to the events exchange, so it must exist before the exporter connects.
        declare_events_exchange(&t).await;
        let tap = t.tap("tap", "*.k8s-event-exporter.event.#").await;
        World { t, kube, tap }
    }

    /// Test defaults: port 0, this test's prefix, short lease and checkpoint intervals.
    pub fn config(&self) -> Config {
        let mut c = Config::for_prefix(&self.t.prefix);
        c.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
        c.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
        c.state_namespace = Some(STATE_NAMESPACE.into());
        c.lease_duration = Duration::from_secs(3);
        c.lease_renew = Duration::from_millis(200);
        c.checkpoint_interval = Duration::from_millis(100);
        c.publish_timeout = Duration::from_secs(2);
        c
    }

    /// Starts an exporter and waits until it (or, with leader election, the leader) has
    /// listed the events and watches them: from then on events arrive in order, which the
    /// sentinel of [`World::assert_nothing_more`] relies on.
    pub async fn start(&self, config: Config) -> Running {
        let running = self.start_in_background(config).await;
        let watches_before = self.event_watches();
        self.kube.wait_for(WITHIN, |_| (self.event_watches() > watches_before).then_some(())).await;
        running
    }

    /// Starts an exporter without waiting for it to watch.
    pub async fn start_in_background(&self, config: Config) -> Running {
        let app = Application::build(config, self.kube.client()).await.expect("build the exporter");
        let health = app.health();
        let stop = CancellationToken::new();
        let task = tokio::spawn(app.run_until_stopped(stop.clone()));
        Running { health, stop, task }
    }

    /// Watch requests on events (either API) answered so far.
    pub fn event_watches(&self) -> usize {
        self.kube.requests().iter().filter(|r| r.is_watch() && r.path.ends_with("/events")).count()
    }

    /// A tenant namespace as the provisioner writes it; `trace_id` `None`: untraced.
    pub fn namespace(&self, name: &str, trace_id: Option<Uuid>) {
        let mut annotations = json!({});
        if let Some(id) = trace_id {
            annotations["eda.io/trace-id"] = json!(id.to_string());
        }
        self.kube.put_object(json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "annotations": annotations, "labels": {
                "app.kubernetes.io/managed-by": "eda-provisioner", "eda.io/client": format!("{name}-client")}}
        }));
    }

    /// An events.k8s.io/v1 Event about a Pod; `count` above 1 makes it a series.
    pub fn event(&self, namespace: &str, name: &str, reason: &str, count: i32) -> Value {
        self.kube.put_object(event_body(namespace, name, reason, count, chrono::Utc::now()))
    }

    /// Takes `n` messages from the tap, as JSON bodies.
    pub async fn take(&self, n: usize) -> Vec<Value> {
        self.take_deliveries(n).await.iter().map(json).collect()
    }

    pub async fn take_deliveries(&self, n: usize) -> Vec<Delivery> {
        self.t.take(&self.tap, n, WITHIN).await
    }

    /// Publishes a sentinel event in `namespace` and asserts it is the next message: any
    /// duplicate of what came before would have arrived first.
    pub async fn assert_nothing_more(&self, namespace: &str) {
        let name = format!("sentinel-{}", Uuid::new_v4().simple());
        self.event(namespace, &name, "Sentinel", 1);
        let next = self.take(1).await;
        assert_eq!(next[0]["event_name"], name, "expected only the sentinel, got {:#}", next[0]);
    }

    pub async fn cleanup(&self) {
        self.t.cleanup().await;
    }
}

/// The JSON of an events.k8s.io/v1 Event that last happened at `at`.
pub fn event_body(
    namespace: &str,
    name: &str,
    reason: &str,
    count: i32,
    at: chrono::DateTime<chrono::Utc>,
) -> Value {
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut event = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "eventTime": at,
        "regarding": {"kind": "Pod", "name": format!("{name}-pod"), "uid": format!("{name}-pod-uid"), "namespace": namespace},
        "reason": reason, "note": format!("{reason} happened"), "type": "Normal",
        "reportingController": "kubelet", "reportingInstance": "node-1", "action": "Doing"
    });
    if count > 1 {
        event["series"] = json!({"count": count, "lastObservedTime": at});
    }
    event
}

async fn declare_events_exchange(t: &TestBroker) {
    let topology = Topology::new(&t.prefix, QueueType::Quorum);
    topology.declare_shared(t.channel()).await.expect("declare the shared topology");
}

/// The uids and counts of event messages, in order.
pub fn uids_and_counts(messages: &[Value]) -> Vec<(String, i64)> {
    messages
        .iter()
        .map(|m| (m["event_name"].as_str().unwrap().to_owned(), m["count"].as_i64().unwrap()))
        .collect()
}
