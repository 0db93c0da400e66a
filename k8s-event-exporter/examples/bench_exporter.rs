//! Benchmark: a burst of events into the Kubernetes API test fixture, exported to the real
//! RabbitMQ; prints events/s and the process's resident memory at the end.
//!
//! ```text
//! cargo build --release -p k8s-event-exporter --bin k8s-event-exporter --example bench_exporter
//! /root/.cache/eda-target/release/examples/bench_exporter [EVENTS]   # default 20000
//! ```
//! The exporter runs as its own process (the release binary next to this example's
//! directory, pointed at the fixture with a kubeconfig), so its memory is measured alone;
//! the fixture and the consumer of the tap run in this process.

use std::time::{Duration, Instant};

use eda_common::topology::{QueueType, Topology};
use eda_tests::broker::TestBroker;
use eda_tests::kube_api::KubeApiTestServer;
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(20_000);
    let kube = KubeApiTestServer::builder().history_limit(events * 2 + 100).start().await;
    let t = TestBroker::new().await;
    Topology::new(&t.prefix, QueueType::Quorum).declare_shared(t.channel()).await?;
    let tap = t.tap("bench-tap", "*.k8s-event-exporter.event.#").await;

    let dir = std::env::temp_dir().join(format!("bench-exporter-{}", t.prefix));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = kube.write_kubeconfig(&dir);
    let binary =
        std::env::current_exe()?.parent().and_then(|d| d.parent()).unwrap().join("k8s-event-exporter");
    let mut exporter = std::process::Command::new(&binary)
        .env("KUBECONFIG", &kubeconfig)
        .env("AMQP_URL", eda_tests::broker::amqp_url())
        .env("EDA_PREFIX", &t.prefix)
        .env("HTTP_ADDR", "127.0.0.1:0")
        .env("EXPORTER_STATE_NAMESPACE", "bench")
        .env("EXPORTER_POD_TRACE_IDS", "false")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("run {} (build it first): {e}", binary.display()))?;
    let watching =
        |k: &KubeApiTestServer| k.requests().iter().any(|r| r.is_watch() && r.path.ends_with("/events"));
    kube.wait_for(Duration::from_secs(60), |k| watching(k).then_some(())).await;
    let before = memory(exporter.id());

    kube.put_object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench",
        "labels": {"app.kubernetes.io/managed-by": "eda-provisioner"},
        "annotations": {"eda.io/trace-id": uuid::Uuid::new_v4().to_string()}}}));
    let started = Instant::now();
    let burst = tokio::task::block_in_place(|| {
        let now = chrono::Utc::now().to_rfc3339();
        for i in 0..events {
            kube.put_object(json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
                "metadata": {"name": format!("e{i}"), "namespace": "bench"},
                "eventTime": now, "reason": "Pulled", "note": "pulled", "type": "Normal",
                "regarding": {"kind": "Pod", "name": format!("p{i}"), "uid": format!("p{i}")},
                "reportingController": "kubelet", "reportingInstance": "n", "action": "Pull"}));
        }
        started.elapsed()
    });
    let got = t.take(&tap, events, Duration::from_secs(1800)).await;
    let elapsed = started.elapsed();
    let after = memory(exporter.id());
    let harness = memory_of("self");
    std::process::Command::new("kill").args(["-TERM", &exporter.id().to_string()]).status()?;
    exporter.wait()?;
    std::fs::remove_dir_all(&dir).ok();
    t.cleanup().await;

    println!("events: {}", got.len());
    println!("burst written into the fixture in {:.2} s", burst.as_secs_f64());
    println!(
        "exported in {:.2} s: {:.0} events/s",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
    println!("exporter before the burst: {before}");
    println!("exporter at the end:       {after}");
    println!("bench process (fixture + consumer) at the end: {harness}");
    Ok(())
}

/// VmRSS and VmHWM of a process.
fn memory(pid: u32) -> String {
    memory_of(&pid.to_string())
}

/// VmRSS and VmHWM from /proc/<pid>/status.
fn memory_of(pid: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l[name.len()..].trim().to_owned())
            .unwrap_or_default()
    };
    format!("VmRSS {} / VmHWM {}", field("VmRSS:"), field("VmHWM:"))
}
