//! A running producer on a fresh prefix, a client that talks to it, and event builders.

use std::time::Duration;

use eda_common::health::Health;
use eda_common::publisher::envelope_properties;
use eda_common::{Envelope, EventType};
use eda_tests::broker::TestBroker;
use producer::{Application, Config};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const WAIT: Duration = Duration::from_secs(30);
pub const TOKEN: &str = "test-token-1";

pub struct TestApp {
    pub t: TestBroker,
    pub base: String,
    pub client: reqwest::Client,
    pub health: Health,
    shutdown: CancellationToken,
    run: JoinHandle<anyhow::Result<()>>,
}

/// Settings for a test: its prefix, the test broker, port 0, one API token.
pub fn config(t: &TestBroker) -> Config {
    let mut config = Config::for_prefix(&t.prefix);
    config.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    config.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
    config.api_tokens = Some(TOKEN.to_owned().into());
    config
}

/// [`config`] with the basic-auth login `user`:`password` instead of the API token.
pub fn config_with_login(t: &TestBroker, user: &str, password: &str) -> Config {
    let mut config = config(t);
    config.api_tokens = None;
    let hash = producer::auth::password::hash_password(password).unwrap();
    config.basic_auth = Some(format!("{user}:{hash}").into());
    config
}

impl TestApp {
    /// A producer with the default test settings, connected and its status feed consuming.
    pub async fn spawn() -> TestApp {
        let t = TestBroker::new().await;
        let config = config(&t);
        Self::spawn_with(t, config, true).await
    }

    /// A producer with `config`; waits for the broker and the feed when `wait_ready`.
    pub async fn spawn_with(t: TestBroker, config: Config, wait_ready: bool) -> TestApp {
        eda_common::telemetry::init_for_tests();
        let app = Application::build(config).await.expect("the producer builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let health = app.health().clone();
        let shutdown = CancellationToken::new();
        let run = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        if wait_ready {
            for check in ["broker", producer::feed::tap::READINESS_CHECK] {
                tokio::time::timeout(WAIT, health.readiness.wait_for(check, true))
                    .await
                    .unwrap_or_else(|_| panic!("readiness check {check} never became true"));
            }
        }
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestApp { t, base, client, health, shutdown, run }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST /api/v1/orders` with the test token.
    pub async fn order(&self, body: &Value) -> reqwest::Response {
        self.client.post(self.url("/api/v1/orders")).bearer_auth(TOKEN).json(body).send().await.unwrap()
    }

    /// The portal's form submission (`POST /`) with the test token.
    pub async fn post_form(&self, form: &str) -> reqwest::Response {
        self.client
            .post(self.url("/"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// A tap on every event of this test's prefix (the shared topology exists once ready).
    pub async fn tap(&self) -> String {
        self.t.tap("tap", "#").await
    }

    /// Publishes an envelope as a suite service would (message id = a fresh UUID).
    pub async fn publish_as(&self, app: &str, envelope: &Envelope) -> String {
        let id = Uuid::new_v4().to_string();
        let props = envelope_properties(envelope, &id, app);
        self.t.publish_event(envelope.event_type().as_str(), &envelope.to_json(), props).await;
        id
    }

    /// Stops the producer and checks it stopped cleanly, then removes the test's names.
    pub async fn stop(self) {
        self.stop_keeping_the_broker().await.cleanup().await;
    }

    /// Stops the producer and checks it stopped cleanly; the test's names stay for the next one.
    pub async fn stop_keeping_the_broker(self) -> TestBroker {
        self.shutdown.cancel();
        let ended =
            tokio::time::timeout(WAIT, self.run).await.expect("the producer stops within the grace period");
        ended.unwrap().expect("the producer stops without error");
        self.t
    }
}

/// A valid order for `client`.
pub fn order_json(client: &str) -> Value {
    serde_json::json!({"client": client, "environment": "development", "archtype": "saas",
                       "hardware": "dedicated", "product": "product-a"})
}

/// An event of the provisioner for `trace_id` (`provisioning`, `provisioned`, `failed`).
pub fn provisioner_event(client: &str, action: &str, trace_id: Uuid) -> Envelope {
    let event_type = EventType::new("mycompany", "provisioner", client, action).unwrap();
    let body = serde_json::json!({"client": client, "namespace": client, "release": "product-a", "product": "product-a"});
    Envelope::new(event_type, trace_id, body.as_object().unwrap().clone())
}

/// The provisioner's `superseded` of the stale order `order_id` (trace `trace_id`), which lost to
/// the newer order `newer_order_id` of `newer_order_time` asking for `newer_desired`.
pub fn superseded_event(
    client: &str,
    trace_id: Uuid,
    order_id: &str,
    newer_order_id: &str,
    newer_order_time: &str,
    newer_desired: &str,
) -> Envelope {
    let mut envelope = provisioner_event(client, "superseded", trace_id);
    let fields = [
        ("order_id", order_id),
        ("order_time", "2026-01-01T00:00:00.000000001Z"),
        ("newer_order_id", newer_order_id),
        ("newer_order_time", newer_order_time),
        ("newer_desired", newer_desired),
    ];
    for (key, value) in fields {
        envelope.body.insert(key.into(), value.into());
    }
    envelope
}

/// Every log line of this thread from now on, at every level, until the guard drops: the
/// producer runs on the test's (current-thread) runtime, so its lines are all here.
pub fn capture_logs() -> (eda_tests::captured::Captured, tracing::subscriber::DefaultGuard) {
    let captured = eda_tests::captured::Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}
