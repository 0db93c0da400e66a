//! A fresh topology prefix per test on the real RabbitMQ, raw AMQP access for assertions, and
//! cleanup of the names a test's services declared.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    ExchangeDeleteOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

/// `AMQP_URL`, or the local broker.
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A unique prefix on the shared broker, so parallel tests never see each other's messages.
pub struct TestBroker {
    pub prefix: String,
    conn: Connection,
    channel: Channel,
    services: std::sync::Mutex<Vec<(String, usize)>>,
}

impl TestBroker {
    /// Connects with a new prefix `t<12 hex>`. Panics with a clear message if no broker runs.
    pub async fn new() -> TestBroker {
        TestBroker::connect_to(&amqp_url()).await
    }

    /// The same on the broker at `url` (a node of the test cluster, say).
    pub async fn connect_to(url: &str) -> TestBroker {
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let conn = Connection::connect(
            url,
            ConnectionProperties::default().with_connection_name(format!("{prefix}.harness").into()),
        )
        .await
        .unwrap_or_else(|e| panic!("RabbitMQ is not reachable at {url} ({e}); run scripts/dev-services.sh"));
        let channel = conn.create_channel().await.expect("open harness channel");
        channel.confirm_select(ConfirmSelectOptions::default()).await.expect("confirm mode");
        TestBroker { prefix, conn, channel, services: Default::default() }
    }

    /// `<prefix>.<name>`.
    pub fn name(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
    }

    /// Remembers a consuming service so cleanup deletes its queue and `levels` retry queues.
    pub fn track_service(&self, service: &str, levels: usize) {
        self.services.lock().unwrap().push((service.to_owned(), levels));
    }

    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publishes raw bytes and waits for the confirm.
    pub async fn publish(&self, exchange: &str, routing_key: &str, body: &[u8], props: BasicProperties) {
        let confirm = self
            .channel
            .basic_publish(exchange.into(), routing_key.into(), BasicPublishOptions::default(), body, props)
            .await
            .expect("publish");
        let c = confirm.await.expect("confirm");
        assert!(c.is_ack(), "broker did not ack the test publish: {c:?}");
    }

    /// Publishes to `<prefix>.events` under `routing_key`.
    pub async fn publish_event(&self, routing_key: &str, body: &[u8], props: BasicProperties) {
        self.publish(&self.name("events"), routing_key, body, props).await;
    }

    /// Declares `<prefix>.events` as another team's publisher would, the tutorial way: a
    /// durable topic exchange with no arguments (no alternate exchange).
    pub async fn declare_plain_events_exchange(&self) {
        let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
        self.channel()
            .exchange_declare(
                self.name("events").as_str().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await
            .expect("the other team's plain events exchange");
    }

    /// Declares a plain durable classic queue bound to `<prefix>.events` with `pattern` (a tap).
    pub async fn tap(&self, name: &str, pattern: &str) -> String {
        let q = self.name(name);
        self.channel
            .queue_declare(
                q.as_str().into(),
                QueueDeclareOptions { durable: true, ..Default::default() },
                FieldTable::default(),
            )
            .await
            .expect("declare tap");
        self.channel
            .queue_bind(
                q.as_str().into(),
                self.name("events").as_str().into(),
                pattern.into(),
                Default::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind tap");
        self.track_service(name, 0);
        q
    }

    /// Messages in a queue now (0 if it does not exist).
    pub async fn queue_len(&self, queue: &str) -> u32 {
        let ch = self.conn.create_channel().await.expect("channel");
        let opts = QueueDeclareOptions { passive: true, ..Default::default() };
        match ch.queue_declare(queue.into(), opts, FieldTable::default()).await {
            Ok(q) => q.message_count(),
            Err(_) => 0,
        }
    }

    /// Takes `n` messages from `queue`, acking them, or panics after `within` saying how many came.
    pub async fn take(&self, queue: &str, n: usize, within: Duration) -> Vec<Delivery> {
        let ch = self.conn.create_channel().await.expect("channel");
        ch.basic_qos(500, Default::default()).await.expect("qos");
        let mut consumer = ch
            .basic_consume(queue.into(), "".into(), BasicConsumeOptions::default(), FieldTable::default())
            .await
            .unwrap_or_else(|e| panic!("consume {queue}: {e}"));
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + within;
        while got.len() < n {
            match tokio::time::timeout_at(deadline, consumer.next()).await {
                Ok(Some(Ok(d))) => {
                    d.acker.ack(BasicAckOptions::default()).await.expect("ack");
                    got.push(d);
                }
                Ok(other) => panic!("consumer of {queue} ended: {other:?}"),
                Err(_) => panic!("expected {n} messages in {queue} within {within:?}, got {}", got.len()),
            }
        }
        let _ = ch.close(200, "done".into()).await;
        got
    }

    /// Closes, from the broker's side, every connection whose name starts with this test's prefix
    /// (what `rabbitmqctl close_all_connections` does, without disturbing parallel tests).
    pub async fn close_service_connections(&self) -> usize {
        let prefix = self.prefix.clone();
        tokio::task::spawn_blocking(move || close_connections_named(&prefix, "test closes the connection"))
            .await
            .expect("join")
    }

    /// Deletes the exchanges and queues this test's prefix declared.
    pub async fn cleanup(&self) {
        let ch = match self.conn.create_channel().await {
            Ok(ch) => ch,
            Err(_) => return,
        };
        let mut queues = vec![self.name("dead"), self.name("unrouted")];
        for (svc, levels) in self.services.lock().unwrap().iter() {
            queues.push(self.name(svc));
            for l in 1..=*levels {
                queues.push(format!("{}.retry.{svc}.{l}", self.prefix));
            }
        }
        for q in queues {
            let _ = ch.queue_delete(q.as_str().into(), QueueDeleteOptions::default()).await;
        }
        for x in ["events", "retry", "unrouted"] {
            let _ = ch.exchange_delete(self.name(x).as_str().into(), ExchangeDeleteOptions::default()).await;
        }
    }
}

/// Header values of a delivery, as strings.
pub fn headers(d: &Delivery) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(t) = d.properties.headers() {
        for (k, v) in t.inner() {
            let s = match v {
                AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                AMQPValue::LongLongInt(i) => i.to_string(),
                AMQPValue::LongInt(i) => i.to_string(),
                AMQPValue::ShortString(s) => s.as_str().to_owned(),
                other => format!("{other:?}"),
            };
            out.insert(k.as_str().to_owned(), s);
        }
    }
    out
}

/// The body of a delivery as JSON.
pub fn json(d: &Delivery) -> serde_json::Value {
    serde_json::from_slice(&d.data)
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&d.data)))
}

/// Closes, from the broker's side, the connections named `<prefix>.<service>` (not the harness's).
pub fn close_connections_named(prefix: &str, reason: &str) -> usize {
    // The table formatter prints pids as `<rabbit@host.N.N.N>`, the form close_connection takes.
    let out = std::process::Command::new("rabbitmqctl")
        .args(["-q", "--no-table-headers", "list_connections", "pid", "client_properties"])
        .output()
        .expect("run rabbitmqctl list_connections");
    let listing = String::from_utf8_lossy(&out.stdout);
    let mut closed = 0;
    for line in listing.lines() {
        let Some((pid, props)) = line.split_once('\t') else { continue };
        let own =
            props.contains(&format!("\"{prefix}.")) && !props.contains(&format!("\"{prefix}.harness\""));
        if own {
            let ok = std::process::Command::new("rabbitmqctl")
                .args(["-q", "close_connection", pid.trim(), reason])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            closed += usize::from(ok);
        }
    }
    closed
}

/// `rabbitmqctl set_policy` on vhost `/`, as an operator following docs/operations.md would;
/// panics with rabbitmqctl's output if the broker refuses it.
pub fn set_policy(name: &str, pattern: &str, apply_to: &str, priority: u32, definition: &str) {
    let priority = priority.to_string();
    let out = std::process::Command::new("rabbitmqctl")
        .args([
            "-q",
            "set_policy",
            "--apply-to",
            apply_to,
            "--priority",
            &priority,
            name,
            pattern,
            definition,
        ])
        .output()
        .expect("run rabbitmqctl set_policy");
    assert!(
        out.status.success(),
        "rabbitmqctl set_policy {name}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `rabbitmqctl clear_policy`, ignoring a policy that is not there.
pub fn clear_policy(name: &str) {
    let _ = std::process::Command::new("rabbitmqctl").args(["-q", "clear_policy", name]).output();
}

/// `EDA_MANAGEMENT_URL`, or the local broker's management API (scripts/dev-services.sh enables it).
pub fn management_url() -> String {
    std::env::var("EDA_MANAGEMENT_URL").unwrap_or_else(|_| "http://guest:guest@127.0.0.1:15672".into())
}
