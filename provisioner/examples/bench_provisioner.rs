//! Benchmark of the provisioner's own overhead, helm excluded: a stand-in helm that answers at
//! once, the Kubernetes API test fixture, the real RabbitMQ.
//!
//! 1. Latency: orders one at a time; event published → four objects applied → `provisioned`
//!    received; p50/p99.
//! 2. Burst: 200 tenants published at once; time until the last `provisioned`, and the
//!    process's peak RSS (VmHWM: provisioner, API fixture and the benchmark together).
//!
//! `cargo run --release -p provisioner --example bench_provisioner [-- <orders> <tenants> <concurrency>]`

use std::collections::HashMap;
use std::time::Instant;

use eda_common::config::parse_delays;
use eda_tests::broker::TestBroker;
use eda_tests::kube_api::KubeApiTestServer;
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::FieldTable;
use provisioner::Config;
use tokio::sync::mpsc;

#[path = "bench_support/mod.rs"]
mod bench_support;
use bench_support::{peak_rss_kb, publish, publish_all, Running};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (orders, tenants, concurrency) = (
        args.first().copied().unwrap_or(200),
        args.get(1).copied().unwrap_or(200),
        args.get(2).copied().unwrap_or(4),
    );
    let t = TestBroker::new().await;
    let api = KubeApiTestServer::start().await;
    let dir = tempfile::tempdir()?;
    let helm = dir.path().join("helm");
    // Answers like `helm upgrade --output json` and exits: what remains is the provisioner.
    std::fs::write(&helm, "#!/bin/sh\necho '{\"version\":1,\"info\":{\"status\":\"deployed\"}}'\n")?;
    std::fs::set_permissions(&helm, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;

    let mut config = Config::for_prefix(&t.prefix);
    config.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    config.common.retry_delays = parse_delays("100ms").map_err(anyhow::Error::msg)?;
    config.common.http_addr = Some("127.0.0.1:0".parse()?);
    config.kubeconfig = Some(api.write_kubeconfig(dir.path()));
    config.helm_bin = helm;
    config.concurrency = concurrency;
    let provisioner = Running::start(&t, config, "*.provisioner.event.*.provisioned").await?;
    let tap = provisioner.tap.clone();
    let mut done = provisioned_stream(&t, &tap).await;

    // 1. One at a time.
    let mut latencies = Vec::with_capacity(orders);
    for i in 0..orders {
        let started = Instant::now();
        publish(&t, &format!("lat-{i}")).await;
        done.recv().await.expect("provisioned");
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    println!("latency over {orders} orders: p50 {:?}, p99 {:?}, max {:?}", pct(0.50), pct(0.99), pct(1.0));

    // 2. A burst of tenants.
    let started = Instant::now();
    publish_all(&t, (0..tenants).map(|i| format!("burst-{i}")), || ()).await;
    let published = started.elapsed();
    let mut seen: HashMap<String, ()> = HashMap::new();
    while seen.len() < tenants {
        let client = done.recv().await.expect("provisioned");
        seen.insert(client, ());
    }
    let total = started.elapsed();
    println!(
        "{tenants} tenants at concurrency {concurrency}: all provisioned in {total:?} (publishing took {published:?}), \
         {:.1} tenants/s; peak RSS {} kB; namespaces in the API fixture {}",
        tenants as f64 / total.as_secs_f64(),
        peak_rss_kb(),
        api.list("namespaces", None).len()
    );

    provisioner.stop().await?;
    t.cleanup().await;
    Ok(())
}

/// The client of every `provisioned` event, as it arrives.
async fn provisioned_stream(t: &TestBroker, queue: &str) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    let channel = t.channel().clone();
    let mut consumer = channel
        .basic_consume(queue.into(), "bench".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .expect("consume the tap");
    tokio::spawn(async move {
        while let Some(Ok(d)) = consumer.next().await {
            d.acker.ack(BasicAckOptions::default()).await.ok();
            let body: serde_json::Value = serde_json::from_slice(&d.data).unwrap_or_default();
            if tx.send(body["client"].as_str().unwrap_or_default().to_string()).is_err() {
                break;
            }
        }
    });
    rx
}
