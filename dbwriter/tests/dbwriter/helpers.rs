//! A running dbwriter on a fresh prefix and database, and ways to publish to it and await its rows.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use dbwriter::{Application, Config};
use eda_common::config::parse_delays;
use eda_common::health::Readiness;
use eda_common::metrics::Metrics;
use eda_common::{Envelope, EventType};
use eda_tests::broker::TestBroker;
use eda_tests::db::TestDb;
use lapin::options::BasicPublishOptions;
use lapin::BasicProperties;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const WAIT: Duration = Duration::from_secs(120);

/// One dbwriter instance running in-process.
pub struct Running {
    pub readiness: Readiness,
    pub metrics: Arc<Metrics>,
    pub port: u16,
    pub shutdown: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Starts a dbwriter on `t`'s prefix writing to `db`, and waits until it consumes.
    pub async fn start(t: &TestBroker, db: &TestDb) -> Running {
        Running::start_with(t, db, |_| {}).await
    }

    /// [`Running::start`] with settings changed by `configure`.
    pub async fn start_with(t: &TestBroker, db: &TestDb, configure: impl FnOnce(&mut Config)) -> Running {
        eda_common::telemetry::init_for_tests();
        let mut config = Config::for_prefix(&t.prefix, &db.url);
        config.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
        config.common.retry_delays = parse_delays("50ms,100ms").unwrap();
        config.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
        configure(&mut config);
        t.track_service("dbwriter", 2);
        let app = Application::build(config).await.expect("dbwriter builds");
        let (readiness, metrics, port) = (app.readiness().clone(), app.metrics().clone(), app.port());
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        let running = Running { readiness, metrics, port, shutdown, handle };
        within("the dbwriter to consume", running.readiness.wait_for("consumer", true)).await;
        running
    }

    /// Deliveries acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.metrics.acked.get()
    }

    /// The value of a counter of this instance, e.g. `eda_dbwriter_rows_inserted_total`.
    pub fn counter(&self, name: &str) -> u64 {
        counter(&self.metrics, name)
    }

    /// Waits until `n` deliveries were acknowledged (stored, duplicate, or dead-lettered).
    pub async fn wait_acked(&self, n: u64) {
        wait_until(&format!("{n} acked deliveries"), || async { self.acked() >= n }).await;
    }

    /// Stops it as SIGTERM would and waits until it has.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.handle.await.expect("dbwriter task").expect("dbwriter stops cleanly");
    }

    /// The status code `/readyz` answers now.
    pub async fn readyz(&self) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.expect("connect HTTP");
        s.write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n").await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("an HTTP status line")
    }
}

/// The value of a counter in `metrics`' exposition, 0 if absent.
pub fn counter(metrics: &Metrics, name: &str) -> u64 {
    let text = metrics.encode();
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// Awaits `fut`, or panics naming `what` after [`WAIT`].
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, fut).await.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Polls a condition that has no event to await (rows becoming visible in PostgreSQL).
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    within(what, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Rows in `events`.
pub async fn event_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(pool).await.expect("count events")
}

/// An envelope of the seed's shape.
pub fn envelope(app: &str, client: &str, action: &str, product: &str) -> Envelope {
    let event_type = EventType::new("mycompany", app, client, action).unwrap();
    let body = serde_json::json!({
        "client": client, "namespace": client, "environment": "development",
        "archtype": "saas", "hardware": "dedicated", "product": product
    });
    Envelope::new(event_type, uuid::Uuid::new_v4(), body.as_object().unwrap().clone())
}

/// The AMQP properties the suite's publishers set, with `message_id`.
pub fn props(message_id: &str) -> BasicProperties {
    BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_message_id(message_id.into())
}

/// Publishes many messages to `<prefix>.events` with their confirms in flight together.
pub async fn publish_all(t: &TestBroker, messages: Vec<(Envelope, String)>) {
    for chunk in messages.chunks(1000) {
        let mut confirms = Vec::with_capacity(chunk.len());
        for (env, id) in chunk {
            let confirm = t
                .channel()
                .basic_publish(
                    t.name("events").as_str().into(),
                    env.event_type().as_str().into(),
                    BasicPublishOptions::default(),
                    &env.to_json(),
                    props(id),
                )
                .await
                .expect("publish");
            confirms.push(confirm);
        }
        for c in confirms {
            assert!(c.await.expect("confirm").is_ack(), "the broker refused a test publish");
        }
    }
}

/// `n` distinct `published` events, each with a fresh message id.
pub fn distinct_events(n: usize) -> Vec<(Envelope, String)> {
    (0..n)
        .map(|i| {
            (
                envelope("producer", &format!("c{i}"), "published", "product-a"),
                uuid::Uuid::new_v4().to_string(),
            )
        })
        .collect()
}
