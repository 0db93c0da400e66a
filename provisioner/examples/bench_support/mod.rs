//! What the provisioner's benchmarks share: the order they publish, publishing one or a burst,
//! and the process's peak memory.

use eda_common::publisher::envelope_properties;
use eda_common::{Envelope, EventType};
use eda_tests::broker::TestBroker;
use lapin::options::BasicPublishOptions;

/// A `published` order of product-a for `client`, with its AMQP properties.
pub fn order(client: &str) -> (Envelope, lapin::BasicProperties) {
    let event_type = EventType::new("mycompany", "producer", client, "published").unwrap();
    let body = serde_json::json!({"client": client, "environment": "development", "hardware": "classic",
                                  "product": "product-a", "archtype": "saas"});
    let envelope = Envelope::new(event_type, uuid::Uuid::new_v4(), body.as_object().unwrap().clone());
    let props = envelope_properties(&envelope, &uuid::Uuid::new_v4().to_string(), "bench");
    (envelope, props)
}

/// Publishes one order and waits for its confirm.
pub async fn publish(t: &TestBroker, client: &str) {
    let (envelope, props) = order(client);
    t.publish_event(envelope.event_type().as_str(), &envelope.to_json(), props).await;
}

/// Publishes every order with all confirms in flight at once, so the burst arrives together;
/// returns what `stamp` said just before each publish (e.g. its time).
pub async fn publish_all<T>(
    t: &TestBroker,
    clients: impl IntoIterator<Item = impl AsRef<str>>,
    mut stamp: impl FnMut() -> T,
) -> Vec<T> {
    let (mut confirms, mut stamps) = (Vec::new(), Vec::new());
    for client in clients {
        let (envelope, props) = order(client.as_ref());
        stamps.push(stamp());
        let confirm = t
            .channel()
            .basic_publish(
                t.name("events").as_str().into(),
                envelope.event_type().as_str().into(),
                BasicPublishOptions::default(),
                &envelope.to_json(),
                props,
            )
            .await
            .expect("publish");
        confirms.push(confirm);
    }
    for confirm in confirms {
        assert!(confirm.await.expect("confirm").is_ack(), "the broker acked the order");
    }
    stamps
}

/// The process's peak resident memory (VmHWM), in KiB.
pub fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A provisioner running in-process on `t`'s prefix, consuming, with a tap on its events.
pub struct Running {
    pub tap: String,
    /// Its metrics (bench_resync counts reconciler passes).
    #[allow(dead_code)]
    pub health: eda_common::health::Health,
    shutdown: provisioner::Shutdown,
    run: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Declares the shared topology, binds the tap (`pattern` on `<prefix>.events`), builds
    /// and starts the provisioner from `config`, and waits until it consumes.
    pub async fn start(
        t: &TestBroker,
        config: provisioner::Config,
        pattern: &str,
    ) -> anyhow::Result<Running> {
        t.track_service("provisioner", 1);
        eda_common::topology::Topology::new(&t.prefix, config.common.queue_type)
            .declare_shared(t.channel())
            .await
            .expect("declare the shared topology");
        let tap = t.tap("bench", pattern).await;
        let app = provisioner::Application::build(config).await?;
        let health = app.health().clone();
        let shutdown = provisioner::Shutdown::new();
        let run = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        health.readiness.wait_for("consumer", true).await;
        Ok(Running { tap, health, shutdown, run })
    }

    /// Stops it as SIGTERM would and waits until it has.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.run.await?
    }
}
