//! Throughput of the consumer's modes against the real RabbitMQ: a backlog of N events is
//! queued first, then the mode starts and the clock runs until it has acked all N.
//!
//! `cargo run --release -p consumer --example bench_consumer -- [N] [RUNS]`

use std::time::{Duration, Instant};

use consumer::config::{BridgeArgs, LogArgs, RunArgs};
use eda_common::config::CommonArgs;
use eda_common::service::Service;
use eda_common::topology::ServiceQueue;
use eda_common::{Envelope, EventType};
use eda_tests::broker::TestBroker;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use tokio_util::sync::CancellationToken;

const BIND: &str = "*.*.event.*.published";

fn order(i: usize) -> Envelope {
    let client = format!("c{}", i % 16);
    let event_type = EventType::new("mycompany", "bench", &client, "published").unwrap();
    let body = serde_json::json!({"client": client, "hardware": "dedicated", "product": "product-a", "i": i});
    Envelope::new(event_type, uuid::Uuid::new_v4(), body.as_object().unwrap().clone())
}

fn engine(name: &str, exec: &str, concurrency: usize) -> RunArgs {
    RunArgs {
        name: name.into(),
        bindings: vec![BIND.into()],
        exec: Some(exec.into()),
        webhook: None,
        emit: Some("enriched".into()),
        concurrency,
        timeout: Duration::from_secs(30),
        ordered: false,
    }
}

/// Starts `mode` on a backlog of `n` messages and returns messages per second until all are acked.
async fn measure<F, Fut>(rt: &Service, n: usize, mode: F) -> f64
where
    F: FnOnce(Service, CancellationToken) -> Fut,
    Fut: std::future::Future<Output = consumer::Result<()>> + Send + 'static,
{
    let stop = CancellationToken::new();
    let started = Instant::now();
    let task = tokio::spawn(mode(rt.clone(), stop.clone()));
    while rt.health.metrics.acked.get() < n as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    stop.cancel();
    task.await.unwrap().unwrap();
    rt.close().await;
    rate
}

async fn backlog(t: &TestBroker, args: &CommonArgs, service: &str, n: usize) {
    let rt = Service::start(args, "bench-publisher", consumer::PUBLISH_TIMEOUT);
    rt.connected(Duration::from_secs(10)).await.unwrap();
    let queue = ServiceQueue { service: service.into(), bindings: vec![BIND.into()] };
    rt.broker.topology().declare_service(t.channel(), &queue, rt.broker.retry_policy()).await.unwrap();
    let msgs = (0..n).map(|i| rt.publisher.event(&order(i))).collect();
    rt.publisher.send_all(msgs).await.unwrap();
    rt.close().await;
}

/// The real interpreter behind `python3`: a version-manager shim (pyenv) costs more than the handler.
fn python3() -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// One run of one case on a fresh prefix, so no backlog leaks into another case's queue.
async fn case(label: &str, n: usize) -> f64 {
    let t = TestBroker::new().await;
    let mut args = CommonArgs::for_prefix(&t.prefix);
    args.amqp_url = Some(eda_tests::broker::amqp_url().into());
    let rate = measured_case(&t, &args, label, n).await;
    t.cleanup().await;
    rate
}

async fn measured_case(t: &TestBroker, args: &CommonArgs, label: &str, n: usize) -> f64 {
    let service = "bench".to_owned();
    t.track_service(&service, 5);
    if label == "bridge" {
        let legacy = t.name(&service);
        let ch = t.channel();
        let durable = QueueDeclareOptions { durable: true, ..Default::default() };
        ch.queue_declare(legacy.as_str().into(), durable, FieldTable::default()).await.unwrap();
        for i in 0..n {
            t.publish("", &legacy, &order(i).to_json(), Default::default()).await;
        }
        let rt = Service::start(args, &service, consumer::PUBLISH_TIMEOUT);
        let from = BridgeArgs { from: legacy };
        return measure(&rt, n, |rt, stop| async move { consumer::bridge::run(&rt, &from, stop).await })
            .await;
    }
    backlog(t, args, &service, n).await;
    let rt = Service::start(args, &service, consumer::PUBLISH_TIMEOUT);
    let python = format!("{} {}/../docs/examples/handlers/enrich.py", python3(), env!("CARGO_MANIFEST_DIR"));
    let run_args = match label {
        "exec true c=1" => engine(&service, "true", 1),
        "exec true c=4" => engine(&service, "true", 4),
        "exec python c=4" => engine(&service, &python, 4),
        _ => {
            let log = LogArgs { bindings: vec![BIND.into()], name: service.clone() };
            return measure(&rt, n, |rt, stop| async move {
                consumer::log_tap::run(&rt, log, std::io::sink(), stop).await
            })
            .await;
        }
    };
    measure(&rt, n, |rt, stop| async move { consumer::engine::run(&rt, run_args, stop).await }).await
}

#[tokio::main]
async fn main() {
    let mut argv = std::env::args().skip(1);
    let n: usize = argv.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let runs: usize = argv.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    println!("{n} messages per run ({} for python), {runs} runs, messages/s (quorum queues)", n / 3);
    for label in ["exec true c=1", "exec true c=4", "exec python c=4", "log", "bridge"] {
        let mut rates = Vec::new();
        // A process per message is slow: the Python case gets a third of the backlog.
        let n = if label.contains("python") { n / 3 } else { n };
        for _ in 0..runs {
            rates.push(case(label, n).await);
        }
        rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let shown: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
        println!("{label:<18} median {:>7.0}  runs {}", rates[rates.len() / 2], shown.join(" / "));
    }
}
