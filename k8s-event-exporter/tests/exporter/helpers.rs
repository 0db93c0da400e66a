//! A test's world: its own broker prefix with a tap on the exporter's events, its own
//! namespaces on the real test control plane (or, only for faults a real API server will not
//! make on demand, its own Kubernetes API fixture), and exporters run in-process.
//!
//! On the real control plane every test shares one cluster, so a test keeps to names of its
//! own: its namespaces are `<prefix>-<suffix>` (the broker prefix `t<12 hex>`, so DNS
//! labels), they carry the label `eda.io/test=<prefix>`, and its exporters select only
//! namespaces with that label (beside the provisioner's managed-by label): an exporter
//! watches every event of the cluster, but publishes none of another test's. The Lease and
//! the watermark ConfigMap live in the test's own `<prefix>-state` namespace. `cleanup`
//! deletes every `<prefix>-*` namespace.
//!
//! Synchronisation, without sleeps: on the real control plane [`World::start`] creates a
//! sentinel event and waits until the exporter has published it (it is listing or watching
//! then, and everything created afterwards arrives in resourceVersion order); on the fixture
//! it counts the watch requests the fixture answered.
//!
//! Each exporter runs on a runtime of its own (one thread), so that [`Running::kill`] can drop
//! it mid-flight as a crash would: no lease released, no last watermark written.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use eda_common::health::Health;
use eda_common::topology::{QueueType, Topology};
use eda_tests::broker::{json, TestBroker};
use eda_tests::control_plane::ControlPlane;
use eda_tests::kube_api::{install_crypto_provider, KubeApiTestServer};
use k8s_event_exporter::{Application, Config};
use k8s_openapi::api::events::v1::Event as EventsV1Event;
use kube::api::{Api, PostParams};
use lapin::message::Delivery;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::proxy::ApiProxy;

/// Bounds a hung test; never a timing assertion.
pub const WITHIN: Duration = Duration::from_secs(30);
/// The ConfigMap holding the watermark (the exporter's default name).
pub const STATE_CONFIGMAP: &str = "k8s-event-exporter-state";
/// The Lease of the exporters (the exporter's default name).
pub const LEASE: &str = "k8s-event-exporter";
/// The label that makes a namespace this test's (value: the broker prefix).
pub const TEST_LABEL: &str = "eda.io/test";

/// Which Kubernetes API the world runs on.
pub enum Kube {
    /// The real test control plane (`scripts/kube/control-plane.sh`).
    Real(ControlPlane),
    /// The in-process API fixture: only for faults a real server will not make on demand
    /// (an API group that is not served, an injected 409, every request recorded).
    Fixture(KubeApiTestServer),
}

pub struct World {
    pub t: TestBroker,
    pub kube: Kube,
    /// How exporters connect (built into a client on each exporter's own runtime).
    kube_config: kube::Config,
    pub tap: String,
    /// Messages taken from the tap while waiting for a start sentinel, handed out first.
    stash: Mutex<VecDeque<Delivery>>,
    /// Set by [`World::cleanup`]; a world dropped without it (a failed test) still deletes
    /// its namespaces.
    cleaned: AtomicBool,
}

/// An exporter running in-process, on its own runtime.
pub struct Running {
    pub health: Health,
    stop: CancellationToken,
    done: oneshot::Receiver<anyhow::Result<()>>,
    kill: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Stops it as SIGTERM would and waits until it has finished (watermark written, lease released).
    pub async fn stop(mut self) {
        self.stop.cancel();
        let done = tokio::time::timeout(WITHIN, &mut self.done).await.expect("the exporter stops");
        done.expect("the exporter's thread panicked").expect("exporter ended with an error");
        self.join().await;
    }

    /// Kills it as a crash would: its runtime is dropped with every task the exporter
    /// spawned, in the middle of whatever they were doing. Nothing runs after that: the
    /// Lease is not released, no last watermark is written.
    pub async fn kill(mut self) {
        self.kill.take().expect("killed once").send(()).ok();
        self.join().await;
    }

    async fn join(&mut self) {
        let thread = self.thread.take().expect("joined once");
        let joined = tokio::time::timeout(WITHIN, tokio::task::spawn_blocking(move || thread.join())).await;
        joined.expect("the exporter's thread ends").unwrap().expect("the exporter's thread");
    }

    pub fn metrics(&self) -> String {
        self.health.metrics.encode()
    }

    pub fn is_leading(&self) -> bool {
        metric(&self.metrics(), "eda_k8s_event_exporter_leader", "") == 1.0
    }
}

impl Drop for Running {
    /// A test that fails with exporters running kills them, so nothing outlives it.
    fn drop(&mut self) {
        if let Some(kill) = self.kill.take() {
            kill.send(()).ok();
        }
    }
}

impl World {
    /// A world on the real control plane: this test's state namespace and probe namespace
    /// (where start sentinels go) exist, and the tap is bound.
    pub async fn new() -> World {
        let cluster = ControlPlane::connect().await;
        install_crypto_provider();
        let kubeconfig =
            kube::config::Kubeconfig::read_from(&cluster.kubeconfig).expect("the admin kubeconfig");
        let kube_config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .expect("a kube config from the admin kubeconfig");
        let w = World::with(Kube::Real(cluster), kube_config).await;
        w.cluster()
            .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": w.state_namespace(), "labels": {TEST_LABEL: w.t.prefix}}}))
            .await;
        w.namespace("probe", Some(Uuid::new_v4())).await;
        w
    }

    /// A world on an API fixture of its own (see [`Kube::Fixture`] for when).
    pub async fn on_fixture(fixture: KubeApiTestServer) -> World {
        let kube_config = fixture.config();
        World::with(Kube::Fixture(fixture), kube_config).await
    }

    async fn with(kube: Kube, kube_config: kube::Config) -> World {
        eda_common::telemetry::init_for_tests();
        let t = TestBroker::new().await;
        // The tap binds to the events exchange, so it must exist before the exporter connects.
        declare_events_exchange(&t).await;
        let tap = t.tap("tap", "*.k8s-event-exporter.event.#").await;
        World { t, kube, kube_config, tap, stash: Mutex::default(), cleaned: AtomicBool::new(false) }
    }

    /// The real control plane (the test must run on it).
    pub fn cluster(&self) -> &ControlPlane {
        match &self.kube {
            Kube::Real(cluster) => cluster,
            Kube::Fixture(_) => panic!("this test runs on the API fixture, not the control plane"),
        }
    }

    /// The API fixture (the test must run on it).
    pub fn fixture(&self) -> &KubeApiTestServer {
        match &self.kube {
            Kube::Fixture(fixture) => fixture,
            Kube::Real(_) => panic!("this test runs on the real control plane, not the API fixture"),
        }
    }

    /// A name of this test's own: `<prefix>-<suffix>`.
    pub fn name(&self, suffix: &str) -> String {
        ControlPlane::name(&self.t.prefix, suffix)
    }

    /// Where this test's exporters keep their Lease and watermark.
    pub fn state_namespace(&self) -> String {
        self.name("state")
    }

    /// The namespaces this test's exporters serve: the provisioner's and this test's.
    pub fn selector(&self) -> String {
        format!("app.kubernetes.io/managed-by=eda-provisioner,{TEST_LABEL}={}", self.t.prefix)
    }

    /// Test defaults: port 0, this test's prefix, selector and state namespace, short lease
    /// and checkpoint intervals.
    pub fn config(&self) -> Config {
        let mut c = Config::for_prefix(&self.t.prefix);
        c.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
        c.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
        c.namespace_selector = self.selector();
        c.state_namespace = Some(self.state_namespace());
        c.lease_duration = Duration::from_secs(3);
        c.lease_renew = Duration::from_millis(200);
        c.checkpoint_interval = Duration::from_millis(100);
        c.publish_timeout = Duration::from_secs(2);
        c
    }

    /// Starts an exporter and waits until it (or, with leader election, the leader) has
    /// listed the events and watches them: from then on events arrive in order, which the
    /// sentinel of [`World::assert_nothing_more`] relies on.
    ///
    /// Real control plane: a sentinel event in this test's probe namespace, created now, is
    /// published only once the exporter's list has been taken (the sentinel is in it, or comes
    /// on the watch after it). Messages that come before it are kept for [`World::take`].
    /// Fixture: the fixture answered one more watch request on events.
    pub async fn start(&self, config: Config) -> Running {
        match &self.kube {
            Kube::Real(_) => {
                let running = self.start_in_background(config).await;
                self.await_start_sentinel().await;
                running
            }
            Kube::Fixture(fixture) => {
                let watches_before = self.event_watches();
                let running = self.start_in_background(config).await;
                fixture.wait_for(WITHIN, |_| (self.event_watches() > watches_before).then_some(())).await;
                running
            }
        }
    }

    /// Creates a sentinel in the probe namespace and takes messages until it comes, keeping
    /// the others for [`World::take`].
    async fn await_start_sentinel(&self) {
        let sentinel = self.sentinel(&self.name("probe")).await;
        let name = sentinel["metadata"]["name"].as_str().unwrap().to_owned();
        let taken = tokio::time::timeout(WITHIN, async {
            loop {
                let d = self.t.take(&self.tap, 1, WITHIN).await.remove(0);
                if json(&d)["event_name"] == name.as_str() {
                    return;
                }
                self.stash.lock().unwrap().push_back(d);
            }
        })
        .await;
        let kept = self.stash.lock().unwrap().iter().map(json).collect::<Vec<_>>();
        assert!(taken.is_ok(), "no start sentinel {name} within {WITHIN:?}; other messages: {kept:#?}");
    }

    /// Starts an exporter without waiting for it to watch.
    pub async fn start_in_background(&self, config: Config) -> Running {
        spawn_exporter(config, self.kube_config.clone()).await
    }

    /// Starts an exporter whose connections to the API server go through `proxy`.
    pub async fn start_via(&self, proxy: &ApiProxy, config: Config) -> Running {
        let mut kube_config = self.kube_config.clone();
        kube_config.cluster_url = proxy.url().parse().expect("the proxy's URL is a URI");
        let running = spawn_exporter(config, kube_config).await;
        self.await_start_sentinel().await;
        running
    }

    /// Where the API server is, for a proxy in front of it.
    pub fn api_server(&self) -> String {
        let url = &self.kube_config.cluster_url;
        url.authority().expect("the cluster URL has a host and port").to_string()
    }

    /// Watch requests on events (either API) the fixture answered so far.
    pub fn event_watches(&self) -> usize {
        let requests = self.fixture().requests();
        requests.iter().filter(|r| r.is_watch() && r.path.ends_with("/events")).count()
    }

    /// A tenant namespace `<prefix>-<suffix>` as the provisioner writes it (labels
    /// `app.kubernetes.io/managed-by`, `eda.io/client` = `<suffix>-client`, `eda.io/environment`;
    /// annotation `eda.io/trace-id` unless `trace_id` is `None`), selected by this test's
    /// exporters only. Returns its name.
    pub async fn namespace(&self, suffix: &str, trace_id: Option<Uuid>) -> String {
        let name = self.name(suffix);
        let mut annotations = json!({});
        if let Some(id) = trace_id {
            annotations["eda.io/trace-id"] = json!(id.to_string());
        }
        self.put_namespace(json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "annotations": annotations, "labels": {
                "app.kubernetes.io/managed-by": "eda-provisioner", "eda.io/client": format!("{suffix}-client"),
                "eda.io/environment": "development", TEST_LABEL: self.t.prefix}}
        }))
        .await;
        name
    }

    /// A namespace `<prefix>-<suffix>` the provisioner manages, but not this test's exporters
    /// (no test label): what another tenant looks like.
    pub async fn unselected_namespace(&self, suffix: &str, trace_id: Uuid) -> String {
        let name = self.name(suffix);
        self.put_namespace(json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "annotations": {"eda.io/trace-id": trace_id.to_string()},
                "labels": {"app.kubernetes.io/managed-by": "eda-provisioner", "eda.io/client": "other"}}
        }))
        .await;
        name
    }

    async fn put_namespace(&self, namespace: Value) {
        match &self.kube {
            Kube::Real(cluster) => {
                cluster.create(namespace).await;
            }
            Kube::Fixture(fixture) => {
                fixture.put_object(namespace);
            }
        }
    }

    /// Waits until the namespace's `default` ServiceAccount exists (its controller creates
    /// it): the ServiceAccount admission refuses pods before, and a ReplicaSet would report
    /// `FailedCreate` and retry.
    pub async fn service_account_ready(&self, namespace: &str) {
        self.cluster().wait_for("serviceaccounts", Some(namespace), "default", |_| true).await;
    }

    /// A Pod with `annotations` and one container (no token mounted), which the real
    /// scheduler binds to the fake kubelet's node. Returns it as stored.
    pub async fn pod(&self, namespace: &str, name: &str, annotations: Value) -> Value {
        self.service_account_ready(namespace).await;
        self.cluster()
            .create(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
                "spec": {"automountServiceAccountToken": false,
                    "containers": [{"name": "web", "image": "registry.invalid/eda/web:1"}]}}))
            .await
    }

    /// An events.k8s.io/v1 Event about a Pod, created now; `count` above 1 makes it a
    /// series (on an existing event: the same event happened again). Returns it as stored.
    pub async fn event(&self, namespace: &str, name: &str, reason: &str, count: i32) -> Value {
        self.put_event(event_body(namespace, name, reason, count, chrono::Utc::now())).await
    }

    /// Creates the events.k8s.io/v1 Event, or, when one of that name exists, gives it the
    /// body's `series` (what a recorder does when an event happens again; the API server
    /// keeps the rest of an Event immutable). Returns it as stored.
    pub async fn put_event(&self, body: Value) -> Value {
        let cluster = match &self.kube {
            Kube::Fixture(fixture) => return fixture.put_object(body),
            Kube::Real(cluster) => cluster,
        };
        let namespace = body["metadata"]["namespace"].as_str().expect("the event has a namespace").to_owned();
        let name = body["metadata"]["name"].as_str().expect("the event has a name").to_owned();
        let api: Api<EventsV1Event> = Api::namespaced(cluster.client(), &namespace);
        let written = match api.get_opt(&name).await.expect("read the event") {
            None => {
                let event: EventsV1Event = serde_json::from_value(body).expect("an events.k8s.io/v1 Event");
                api.create(&PostParams::default(), &event).await
            }
            Some(mut existing) => {
                existing.series = serde_json::from_value(body["series"].clone()).expect("a series");
                api.replace(&name, &PostParams::default(), &existing).await
            }
        };
        let written = written.unwrap_or_else(|e| panic!("write event {namespace}/{name}: {e}"));
        serde_json::to_value(written).unwrap()
    }

    /// A Warning event with reason `Sentinel` and a fresh name (it passes the filters of
    /// every test here); returns it as stored.
    pub async fn sentinel(&self, namespace: &str) -> Value {
        let name = format!("sentinel-{}", Uuid::new_v4().simple());
        let mut body = event_body(namespace, &name, "Sentinel", 1, chrono::Utc::now());
        body["type"] = json!("Warning");
        self.put_event(body).await
    }

    /// Takes `n` messages from the tap, as JSON bodies.
    pub async fn take(&self, n: usize) -> Vec<Value> {
        self.take_deliveries(n).await.iter().map(json).collect()
    }

    /// Takes `n` messages: first those kept while waiting for a start sentinel, then the tap's.
    pub async fn take_deliveries(&self, n: usize) -> Vec<Delivery> {
        let mut got: Vec<Delivery> = {
            let mut stash = self.stash.lock().unwrap();
            let kept = n.min(stash.len());
            stash.drain(..kept).collect()
        };
        if got.len() < n {
            got.extend(self.t.take(&self.tap, n - got.len(), WITHIN).await);
        }
        got
    }

    /// Creates a sentinel event in `namespace` and asserts it is the next message: any
    /// duplicate of what came before would have arrived first. Returns the sentinel as stored.
    pub async fn assert_nothing_more(&self, namespace: &str) -> Value {
        let sentinel = self.sentinel(namespace).await;
        let next = self.take(1).await;
        assert_eq!(
            next[0]["event_name"], sentinel["metadata"]["name"],
            "expected only the sentinel, got {:#}",
            next[0]
        );
        sentinel
    }

    /// The exporters' Lease in this test's state namespace, if any.
    pub async fn lease(&self) -> Option<Value> {
        self.cluster().get("leases", Some(&self.state_namespace()), LEASE).await
    }

    /// Who holds the Lease.
    pub async fn holder(&self) -> Option<String> {
        let lease = self.lease().await?;
        lease["spec"]["holderIdentity"].as_str().map(str::to_owned)
    }

    /// Waits, on a watch of the state ConfigMap, until the stored watermark covers `rv`.
    pub async fn wait_for_watermark(&self, rv: u64) {
        let covers = |cm: &Value| {
            cm["data"]["resourceVersion"]
                .as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|w| w >= rv)
        };
        let state = self.state_namespace();
        self.cluster().wait_for("configmaps", Some(&state), STATE_CONFIGMAP, covers).await;
    }

    /// Deletes this test's namespaces (nobody waits for them) and its broker names.
    pub async fn cleanup(&self) {
        self.cleaned.store(true, Ordering::SeqCst);
        if let Kube::Real(cluster) = &self.kube {
            let mine = format!("{}-", self.t.prefix);
            for ns in cluster.list("namespaces", None, None).await {
                let name = ns["metadata"]["name"].as_str().unwrap_or_default();
                if name.starts_with(&mine) {
                    cluster.delete("namespaces", None, name).await;
                }
            }
        }
        self.t.cleanup().await;
    }
}

impl Drop for World {
    /// A test that failed before [`World::cleanup`] leaves no namespace behind either: the
    /// real kubectl deletes them (errors ignored, nothing here may panic while unwinding).
    fn drop(&mut self) {
        let Kube::Real(cluster) = &self.kube else { return };
        if self.cleaned.load(Ordering::SeqCst) {
            return;
        }
        let kubectl = |args: &[&str]| {
            std::process::Command::new(&cluster.kubectl)
                .arg("--kubeconfig")
                .arg(&cluster.kubeconfig)
                .arg("--request-timeout=20s")
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
        };
        let Some(listed) = kubectl(&["get", "namespaces", "-o", "name"]) else { return };
        let mine = format!("namespace/{}-", self.t.prefix);
        let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
        let names: Vec<&str> = listed.lines().filter(|n| n.starts_with(&mine)).collect();
        if !names.is_empty() {
            kubectl(&[&["delete", "--wait=false"], names.as_slice()].concat());
        }
    }
}

/// Builds and runs an exporter on a runtime of its own, with a client built there.
async fn spawn_exporter(config: Config, kube_config: kube::Config) -> Running {
    let stop = CancellationToken::new();
    let (health_tx, health_rx) = oneshot::channel();
    let (done_tx, done) = oneshot::channel();
    let (kill, killed) = oneshot::channel::<()>();
    let token = stop.clone();
    let thread = std::thread::Builder::new()
        .name("exporter".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                install_crypto_provider();
                let client = kube::Client::try_from(kube_config).expect("a kube client for the exporter");
                let app = Application::build(config, client).await.expect("build the exporter");
                health_tx.send(app.health()).ok();
                tokio::select! {
                    done = app.run_until_stopped(token) => { done_tx.send(done).ok(); }
                    // Killed (or the test dropped it): stop polling right here.
                    _ = killed => {}
                }
            });
            // Dropping the runtime drops every task the exporter spawned, mid-flight.
            drop(runtime);
        })
        .expect("start the exporter's thread");
    let health = tokio::time::timeout(WITHIN, health_rx).await.expect("the exporter is built in time");
    let health = health.expect("the exporter was built");
    Running { health, stop, done, kill: Some(kill), thread: Some(thread) }
}

/// The JSON of an events.k8s.io/v1 Event about a Pod that last happened at `at`.
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

/// The names and counts of event messages, in order.
pub fn uids_and_counts(messages: &[Value]) -> Vec<(String, i64)> {
    messages
        .iter()
        .map(|m| (m["event_name"].as_str().unwrap().to_owned(), m["count"].as_i64().unwrap()))
        .collect()
}

/// The resourceVersion of an object as stored.
pub fn resource_version(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"].as_str().and_then(|rv| rv.parse().ok()).expect("a resourceVersion")
}

/// The value of a metric in a Prometheus text exposition: the sum over the series of `name`
/// whose labels contain `label` (any, when empty); 0 when there is none.
pub fn metric(metrics: &str, name: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(series, _)| {
            let (n, labels) = series.split_once('{').unwrap_or((series, ""));
            n == name && labels.contains(label)
        })
        .map(|(_, value)| value.parse::<f64>().expect("a metric value"))
        .sum()
}

/// Polls `check` until it holds: for states the exporter shows only in its metrics. Fails
/// after [`WITHIN`]; the poll interval is no assumption about how long anything takes.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let polled = tokio::time::timeout(WITHIN, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(polled.is_ok(), "{what} did not happen within {WITHIN:?}");
}
