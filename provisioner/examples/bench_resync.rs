//! A resync of N provisioned tenants on the real test control plane: seconds and API requests
//! per pass, and the reconciler's memory.
//!
//! Set-up, per run (fresh broker prefix): N namespaces labelled as eda's for their client (the
//! provisioner refuses any other), each holding the release Secret helm
//! writes for a deployed release (labels `owner=helm`, `name`, `status=deployed`,
//! `version=1`: all the resync reads of helm's storage), and N Tenants already `Provisioned`
//! with the `releaseHash` of the built-in catalog's `product-a`. Installing N real releases
//! would measure helm, which a resync must not run: the provisioner is given `/bin/false` as
//! helm, so a helm run would show as a failed reconcile.
//!
//! The provisioner then starts in-process; its first pass (a restart: every settled Tenant is
//! due) applies the baseline objects for the first time, the second pass (after
//! `--resync-interval`) finds them unchanged. A pass ends when `eda_provisioner_reconciles_total`
//! has grown by N. Requests are the kube-apiserver's own `apiserver_request_total`, summed over
//! every verb, before and after the pass (nothing else runs on the control plane meanwhile).
//!
//! `--subject` and `--reader-subject` make the provisioner write the tenant namespaces'
//! RoleBindings and ask the authorizer whether its own is enforced, as under the chart (the
//! benchmark itself runs as the admin, so the bindings grant nothing it lacks).
//!
//! `cargo run --release -p provisioner --example bench_resync -- --tenants 1000 --concurrency 4`
//! (add `--subject system:serviceaccount:eda:eda-provisioner --reader-subject
//! system:serviceaccount:eda:eda-k8s-event-exporter` for the chart's path)

use std::time::{Duration, Instant};

use clap::Parser;
use eda_tests::broker::TestBroker;
use eda_tests::control_plane::ControlPlane;
use futures_util::{stream, StreamExt};
use provisioner::catalog::Catalog;
use provisioner::deploy::Release;
use provisioner::objects::{LABEL_CLIENT, LABEL_MANAGED_BY, MANAGER};
use provisioner::order::{Order, Tenant};
use provisioner::reconcile::release_hash;
use serde_json::json;

// Only `Running` and `peak_rss_kb` of the shared helpers are needed here.
#[allow(dead_code)]
#[path = "bench_support/mod.rs"]
mod bench_support;
use bench_support::{peak_rss_kb, Running};

#[derive(Parser, Debug)]
#[command(about = "a resync pass over N provisioned tenants on the real test control plane")]
struct Args {
    #[arg(long, default_value_t = 1000)]
    tenants: usize,
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Time between the two passes.
    #[arg(long, default_value = "20s", value_parser = eda_common::config::parse_duration)]
    resync_interval: Duration,
    /// The provisioner's identity bound in each tenant namespace (`PROVISIONER_SUBJECT`).
    #[arg(long)]
    subject: Option<String>,
    /// The exporter's identity bound there (`PROVISIONER_READER_SUBJECT`).
    #[arg(long)]
    reader_subject: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    eda_common::telemetry::init_for_tests();
    let cluster = ControlPlane::connect().await;
    let t = TestBroker::new().await;
    let catalog = Catalog::load(None)?;
    let names: Vec<String> =
        (0..args.tenants).map(|i| ControlPlane::name(&t.prefix, &format!("r{i:04}"))).collect();

    quiet(&cluster).await;
    let started = Instant::now();
    stream::iter(names.iter()).for_each_concurrent(16, |ns| seed(&cluster, &catalog, &t.prefix, ns)).await;
    println!("seeded {} tenants in {:.1}s", args.tenants, started.elapsed().as_secs_f64());

    let mut config = provisioner::Config::for_prefix(&t.prefix);
    config.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    config.common.http_addr = Some("127.0.0.1:0".parse()?);
    config.kubeconfig = Some(cluster.kubeconfig.clone());
    config.helm_bin = "/bin/false".into();
    config.concurrency = args.concurrency;
    config.resync_interval = args.resync_interval;
    config.subject = args.subject.clone();
    config.reader_subject = args.reader_subject.clone();
    let requests_before = api_requests(&cluster);
    let pass_started = Instant::now();
    let running = Running::start(&t, config, "*.provisioner.event.#").await?;
    let n = args.tenants as f64;
    let first = wait_for_reconciles(&running, n).await;
    let first_requests = api_requests(&cluster) - requests_before;
    report("pass 1 (after a start: baseline created)", first - pass_started, first_requests, args.tenants);

    let second_started = wait_for_reconciles(&running, n + 1.0).await;
    let before = api_requests(&cluster);
    let second = wait_for_reconciles(&running, 2.0 * n).await;
    let second_requests = api_requests(&cluster) - before;
    report("pass 2 (steady state: nothing changed)", second - second_started, second_requests, args.tenants);

    let metrics = running.health.metrics.encode();
    let failed: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("eda_provisioner_reconciles_total") && !l.contains("outcome=\"ok\""))
        .collect();
    println!("reconciles other than ok: {failed:?} (a helm run would be one)");
    println!("peak RSS of the process (provisioner and bench): {} MiB", peak_rss_kb() / 1024);
    running.stop().await?;

    for tenant in cluster.list("tenants", None, Some(&format!("eda.io/prefix={}", t.prefix))).await {
        cluster.delete("tenants", None, tenant["metadata"]["name"].as_str().unwrap_or_default()).await;
    }
    stream::iter(names.iter()).for_each_concurrent(16, |ns| cluster.delete("namespaces", None, ns)).await;
    t.cleanup().await;
    Ok(())
}

/// Waits until no namespace is being deleted: the namespace controller emptying an earlier
/// run's 1,000 namespaces makes thousands of requests, which would be counted as this pass's.
async fn quiet(cluster: &ControlPlane) {
    let mut said = false;
    loop {
        let terminating = cluster
            .list("namespaces", None, None)
            .await
            .iter()
            .filter(|ns| ns["status"]["phase"] == "Terminating")
            .count();
        if terminating == 0 {
            return;
        }
        if !said {
            println!("waiting for {terminating} namespaces being deleted (an earlier run's) to go");
            said = true;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// A namespace with a deployed release in helm's storage and a Provisioned Tenant for it.
async fn seed(cluster: &ControlPlane, catalog: &Catalog, prefix: &str, ns: &str) {
    cluster
        .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns,
            "labels": {LABEL_MANAGED_BY: MANAGER, LABEL_CLIENT: ns}}}))
        .await;
    cluster
        .create(json!({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.product-a.v1", "namespace": ns,
                "labels": {"owner": "helm", "name": "product-a", "status": "deployed", "version": "1"}},
            "data": {"release": ""}}))
        .await;
    let tenant = Tenant {
        client: ns.into(),
        namespace: ns.into(),
        product: "product-a".into(),
        release: "product-a".into(),
        trace_id: uuid::Uuid::new_v4(),
    };
    let order =
        Order { tenant, environment: "development".into(), hardware: "dedicated".into(), order_span: None };
    let release = Release::for_order(&order, catalog).expect("product-a is in the built-in catalog");
    let name = format!("{ns}.product-a");
    let id = uuid::Uuid::new_v4().to_string();
    cluster
        .create(json!({"apiVersion": "eda.io/v1alpha1", "kind": "Tenant",
            "metadata": {"name": name, "labels": {"eda.io/prefix": prefix}},
            "spec": {"client": ns, "namespace": ns, "release": "product-a", "product": "product-a",
                "environment": "development", "archtype": "saas", "hardware": "dedicated",
                "traceId": order.tenant.trace_id.to_string(), "desired": "present",
                "order": {"id": id, "time": "2026-12-01T00:00:00Z"}}}))
        .await;
    cluster
        .patch_status("tenants", None, &name, json!({"phase": "Provisioned", "observedOrder": id, "attempts": 0,
            "revision": 1, "chart": release.chart.display(), "version": release.chart.version,
            "releaseHash": release_hash(&release),
            "conditions": [{"type": "Ready", "status": "True", "reason": "Provisioned", "message": "seeded"}]}))
        .await;
}

/// Waits until the reconciler has made `n` passes in all; when.
async fn wait_for_reconciles(running: &Running, n: f64) -> Instant {
    loop {
        let text = running.health.metrics.encode();
        let total: f64 = text
            .lines()
            .filter(|l| l.starts_with("eda_provisioner_reconciles_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        if total >= n {
            return Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The kube-apiserver's count of requests served so far, every verb and resource.
fn api_requests(cluster: &ControlPlane) -> f64 {
    let out = cluster.kubectl(&["get", "--raw", "/metrics"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn report(what: &str, took: Duration, requests: f64, tenants: usize) {
    println!(
        "{what}: {:.2}s, {:.0} API requests ({:.1} per tenant), {:.0} tenants/s",
        took.as_secs_f64(),
        requests,
        requests / tenants as f64,
        tenants as f64 / took.as_secs_f64()
    );
}
