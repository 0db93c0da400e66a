//! Foundation benchmark: publish-with-confirms and consume-and-ack rates of the eda runtime,
//! next to a bare lapin loop measured in the same run (the broker's own limit here).
//!
//! `cargo run --release -p eda-common --example bench_runtime -- [messages] [runs] [quorum|classic]`
//! Prints a Markdown table of medians.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eda_common::config::CommonArgs;
use eda_common::delivery::{self, BatchHandler, BatchSpec, ConsumerSpec, Handler, HandlerError, Message};
use eda_common::health::{Health, Readiness};
use eda_common::metrics::Metrics;
use eda_common::topology::{QueueType, ServiceQueue, Topology};
use eda_common::{Broker, Envelope, EventType, Publisher};
use futures_util::StreamExt;
use lapin::options::*;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const WINDOW: usize = 1000;

fn url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn order(i: usize) -> Envelope {
    let client = format!("client{}", i % 1000);
    let body = serde_json::json!({"client": client, "namespace": client, "environment": "development",
        "archtype": "saas", "hardware": "dedicated", "product": "product-a"});
    Envelope::new(
        EventType::new("mycompany", "producer", &client, "published").unwrap(),
        uuid::Uuid::new_v4(),
        body.as_object().unwrap().clone(),
    )
}

struct Setup {
    prefix: String,
    args: CommonArgs,
    conn: Connection,
}

async fn setup(queue_type: QueueType) -> Setup {
    let prefix = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut args = CommonArgs::for_prefix(&prefix);
    args.amqp_url = Some(url().into());
    args.queue_type = queue_type;
    args.prefetch = WINDOW as u16;
    let conn = Connection::connect(&url(), ConnectionProperties::default()).await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    let t = Topology::new(&prefix, queue_type);
    t.declare_shared(&ch).await.unwrap();
    let q = ServiceQueue { service: "sink".into(), bindings: vec!["#".into()] };
    t.declare_service(&ch, &q, &args.retry_policy()).await.unwrap();
    Setup { prefix, args, conn }
}

async fn teardown(s: Setup) {
    let ch = s.conn.create_channel().await.unwrap();
    for q in [
        "sink",
        "dead",
        "unrouted",
        "retry.sink.1",
        "retry.sink.2",
        "retry.sink.3",
        "retry.sink.4",
        "retry.sink.5",
    ] {
        let _ = ch.queue_delete(format!("{}.{q}", s.prefix).as_str().into(), Default::default()).await;
    }
    for x in ["events", "retry", "unrouted"] {
        let _ = ch.exchange_delete(format!("{}.{x}", s.prefix).as_str().into(), Default::default()).await;
    }
}

/// Bare lapin: the same bodies to the same exchange, WINDOW confirms in flight; with
/// `full_properties`, also the runtime's AMQP properties and headers (precomputed).
async fn bare_publish_with(s: &Setup, n: usize, full_properties: bool) -> f64 {
    let ch = s.conn.create_channel().await.unwrap();
    ch.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
    let bodies: Vec<(String, Vec<u8>, BasicProperties)> = (0..n)
        .map(|i| {
            let e = order(i);
            let props = if full_properties {
                eda_common::publisher::envelope_properties(&e, &uuid::Uuid::new_v4().to_string(), "bench")
            } else {
                BasicProperties::default().with_delivery_mode(2).with_content_type("application/json".into())
            };
            (e.attributes.event_type.to_string(), e.to_json(), props)
        })
        .collect();
    let exchange = format!("{}.events", s.prefix);
    let started = Instant::now();
    for chunk in bodies.chunks(WINDOW) {
        let mut pending = Vec::with_capacity(chunk.len());
        for (rk, body, props) in chunk {
            pending.push(
                ch.basic_publish(
                    exchange.as_str().into(),
                    rk.as_str().into(),
                    Default::default(),
                    body,
                    props.clone(),
                )
                .await
                .unwrap(),
            );
        }
        for p in pending {
            assert!(p.await.unwrap().is_ack());
        }
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn runtime(s: &Setup, service: &str) -> (Broker, Publisher, Health) {
    let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new(service)) };
    let broker = Broker::start(&s.args, service, &health);
    let publisher = Publisher::new(&broker, Duration::from_secs(30));
    (broker, publisher, health)
}

/// The runtime: envelopes built, serialized, every §2 property and header set, confirms awaited.
async fn runtime_publish(s: &Setup, n: usize) -> f64 {
    let (broker, publisher, _) = runtime(s, "bench-publisher");
    publisher.send_all(vec![publisher.event(&order(0))]).await.unwrap();
    let envelopes: Vec<Envelope> = (0..n).map(order).collect();
    let started = Instant::now();
    for chunk in envelopes.chunks(WINDOW) {
        let out = chunk.iter().map(|e| publisher.event(e)).collect();
        publisher.send_all(out).await.unwrap();
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    broker.close().await;
    rate
}

async fn bare_publish(s: &Setup, n: usize) -> f64 {
    bare_publish_with(s, n, false).await
}

async fn purge(s: &Setup) {
    let ch = s.conn.create_channel().await.unwrap();
    ch.queue_purge(format!("{}.sink", s.prefix).as_str().into(), Default::default()).await.unwrap();
}

async fn fill(s: &Setup, n: usize) {
    purge(s).await;
    bare_publish(s, n).await;
}

/// Bare lapin: consume with the same prefetch; one multiple-ack per 100 deliveries (the limit),
/// or with `each`, one ack per delivery (pipelined, not awaited one by one).
async fn bare_consume(s: &Setup, n: usize, each: bool) -> f64 {
    fill(s, n).await;
    let ch = s.conn.create_channel().await.unwrap();
    ch.basic_qos(WINDOW as u16, Default::default()).await.unwrap();
    let mut consumer = ch
        .basic_consume(
            format!("{}.sink", s.prefix).as_str().into(),
            "".into(),
            Default::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let started = Instant::now();
    let mut acks = Vec::with_capacity(WINDOW);
    for i in 1..=n {
        let d = consumer.next().await.unwrap().unwrap();
        if each {
            acks.push(tokio::spawn(async move { d.acker.ack(BasicAckOptions::default()).await }));
            if acks.len() == WINDOW / 2 {
                for a in acks.drain(..) {
                    a.await.unwrap().unwrap();
                }
            }
        } else if i % 100 == 0 || i == n {
            ch.basic_ack(d.delivery_tag, BasicAckOptions { multiple: true }).await.unwrap();
        }
    }
    for a in acks {
        a.await.unwrap().unwrap();
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let _ = ch.close(200, "".into()).await;
    rate
}

struct Count {
    seen: AtomicUsize,
    target: usize,
    done: Notify,
}

impl Count {
    fn add(&self, k: usize) {
        if self.seen.fetch_add(k, Ordering::SeqCst) + k >= self.target {
            self.done.notify_one();
        }
    }
}

impl Handler for Count {
    async fn handle(&self, _m: &Message) -> Result<Vec<Envelope>, HandlerError> {
        self.add(1);
        Ok(vec![])
    }
}

impl BatchHandler for Count {
    async fn handle_batch(&self, m: &[Message]) -> Result<Vec<Result<(), HandlerError>>, HandlerError> {
        self.add(m.len());
        Ok(m.iter().map(|_| Ok(())).collect())
    }
}

/// The runtime: decode and validate each envelope, run the handler, ack (one by one, or per batch).
async fn runtime_consume(s: &Setup, n: usize, batch: bool) -> f64 {
    fill(s, n).await;
    let (broker, publisher, health) = runtime(s, "bench-consumer");
    let count = Arc::new(Count { seen: AtomicUsize::new(0), target: n, done: Notify::new() });
    let spec = ConsumerSpec {
        queue: ServiceQueue { service: "sink".into(), bindings: vec!["#".into()] },
        concurrency: 64,
        emit_failed: false,
    };
    let stop = CancellationToken::new();
    let (p, c, st) = (publisher.clone(), count.clone(), stop.clone());
    let started = Instant::now();
    let task = tokio::spawn(async move {
        if batch {
            delivery::run_batches(
                &p,
                spec,
                BatchSpec { max_size: 500, max_wait: Duration::from_millis(50), in_flight: 1 },
                c,
                st,
            )
            .await
        } else {
            delivery::run(&p, spec, c, st).await
        }
    });
    count.done.notified().await;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    stop.cancel();
    task.await.unwrap().unwrap();
    let _ = health;
    broker.close().await;
    rate
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let qt = match args.get(3).map(String::as_str) {
        Some("classic") => QueueType::Classic,
        _ => QueueType::Quorum,
    };
    let s = setup(qt).await;
    let mut rows: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        ("publish with confirms (bare: minimal properties)", vec![], vec![]),
        ("publish with confirms (bare: the runtime's §2 properties and headers)", vec![], vec![]),
        ("consume + ack each (runtime: handler per message, 64 concurrent)", vec![], vec![]),
        ("consume + multiple-ack (runtime: batches of 500)", vec![], vec![]),
    ];
    for _ in 0..runs {
        purge(&s).await;
        rows[0].1.push(bare_publish(&s, n).await);
        purge(&s).await;
        rows[1].1.push(bare_publish_with(&s, n, true).await);
        purge(&s).await;
        let rt = runtime_publish(&s, n).await;
        rows[0].2.push(rt);
        rows[1].2.push(rt);
        rows[2].1.push(bare_consume(&s, n, true).await);
        rows[2].2.push(runtime_consume(&s, n, false).await);
        rows[3].1.push(bare_consume(&s, n, false).await);
        rows[3].2.push(runtime_consume(&s, n, true).await);
    }
    println!(
        "queue type: {qt:?}, {n} messages per run, median of {runs} runs, {WINDOW} in flight / prefetch\n"
    );
    println!("| operation | bare lapin (msg/s) | eda runtime (msg/s) | runtime / bare |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, bare, rt) in rows {
        let (b, r) = (median(bare), median(rt));
        println!("| {name} | {b:.0} | {r:.0} | {:.0} % |", 100.0 * r / b);
    }
    teardown(s).await;
}
