//! A running eda runtime on a fresh prefix, and handlers that report what they see.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use eda_common::config::{parse_delays, CommonArgs};
use eda_common::delivery::{ConsumerSpec, Handler, HandlerError, Message};
use eda_common::health::{Health, Readiness};
use eda_common::metrics::Metrics;
use eda_common::topology::ServiceQueue;
use eda_common::{Broker, Envelope, EventType, Publisher};
use eda_tests::broker::TestBroker;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub const WAIT: Duration = Duration::from_secs(30);

pub struct Harness {
    pub t: TestBroker,
    pub args: CommonArgs,
    pub health: Health,
    pub broker: Broker,
    pub publisher: Publisher,
    pub shutdown: CancellationToken,
}

impl Harness {
    /// Runtime settings for tests: short retry delays, three retries, classic queues stay default quorum.
    pub async fn new(service: &str) -> Harness {
        Harness::on(TestBroker::new().await, service).await
    }

    /// The same on a prefix the test has already put objects on (another team's publisher, say).
    pub async fn on(t: TestBroker, service: &str) -> Harness {
        Harness::configured(t, service, |_| {}).await
    }

    /// [`Harness::on`] with settings changed by `configure` (the brokers, say).
    pub async fn configured(
        t: TestBroker,
        service: &str,
        configure: impl FnOnce(&mut CommonArgs),
    ) -> Harness {
        eda_common::telemetry::init_for_tests();
        let mut args = CommonArgs::for_prefix(&t.prefix);
        args.max_retries = 3;
        args.retry_delays = parse_delays("50ms,100ms").unwrap();
        args.amqp_url = Some(eda_tests::broker::amqp_url().into());
        configure(&mut args);
        t.track_service(service, args.retry_delays.0.len());
        let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new(service)) };
        let broker = Broker::start(&args, service, &health);
        let publisher = Publisher::new(&broker, Duration::from_secs(10));
        Harness { t, args, health, broker, publisher, shutdown: CancellationToken::new() }
    }

    pub fn spec(&self, service: &str, bindings: &[&str]) -> ConsumerSpec {
        ConsumerSpec {
            queue: ServiceQueue {
                service: service.into(),
                bindings: bindings.iter().map(|s| s.to_string()).collect(),
            },
            concurrency: 4,
            emit_failed: true,
        }
    }

    /// Declares a service's queue, bindings and retry queues now, as its consumer would.
    pub async fn declare(&self, spec: &ConsumerSpec) {
        let topology = self.broker.topology();
        topology.declare_shared(self.t.channel()).await.expect("declare shared topology");
        topology
            .declare_service(self.t.channel(), &spec.queue, self.broker.retry_policy())
            .await
            .expect("declare service queue");
    }

    pub async fn finish(self) {
        self.shutdown.cancel();
        self.broker.close().await;
        self.t.cleanup().await;
    }
}

/// An envelope of the seed's shape for `client`, action `published`.
pub fn order(client: &str) -> Envelope {
    let event_type = EventType::new("mycompany", "producer", client, "published").unwrap();
    let body = serde_json::json!({
        "client": client, "namespace": client, "environment": "development",
        "archtype": "saas", "hardware": "dedicated", "product": "product-a"
    });
    Envelope::new(event_type, uuid::Uuid::new_v4(), body.as_object().unwrap().clone())
}

/// A handler that reports each message and answers from a script of outcomes (then succeeds).
pub struct Scripted {
    pub seen: mpsc::UnboundedSender<Message>,
    pub script: Mutex<Vec<Result<(), HandlerError>>>,
    pub always: Option<HandlerError>,
}

impl Scripted {
    pub fn new(script: Vec<Result<(), HandlerError>>) -> (Arc<Self>, mpsc::UnboundedReceiver<Message>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Arc::new(Scripted { seen: tx, script: Mutex::new(script), always: None }), rx)
    }

    pub fn failing(error: HandlerError) -> (Arc<Self>, mpsc::UnboundedReceiver<Message>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Arc::new(Scripted { seen: tx, script: Mutex::new(vec![]), always: Some(error) }), rx)
    }
}

impl Handler for Scripted {
    async fn handle(&self, message: &Message) -> Result<Vec<Envelope>, HandlerError> {
        let _ = self.seen.send(message.clone());
        if let Some(e) = &self.always {
            return Err(e.clone());
        }
        let next = {
            let mut s = self.script.lock().unwrap();
            if s.is_empty() {
                Ok(())
            } else {
                s.remove(0)
            }
        };
        next.map(|()| Vec::new())
    }
}

/// The next message a handler saw, or a panic naming what was awaited.
pub async fn next_seen(rx: &mut mpsc::UnboundedReceiver<Message>, what: &str) -> Message {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .expect("handler gone")
}
