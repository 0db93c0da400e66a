//! The cluster scenarios for the provisioner (DESIGN.md §8, §11): two provisioner replicas in
//! apply mode on the real test control plane, on the three-node cluster. 100 tenants, each
//! published, cancelled and published again, the 300 orders shuffled; the same node and
//! replica faults as the dbwriter's; every tenant must end Provisioned for its newest order.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{Duration as Span, Utc};
use eda_common::{Envelope, EventType};
use eda_tests::control_plane::ControlPlane;
use eda_tests::rabbit_cluster::RabbitCluster;

use super::cluster::{finish, leader_of, node_fault};
use super::scenarios::failed;
use super::world::{Service, World};
use super::Outcome;

pub const TENANT_SCENARIOS: &[&str] = &[
    "tenants-leader-kill-9",
    "tenants-stop-app",
    "tenants-freeze-60s",
    "tenants-rolling-restart",
    "tenants-replica-kill-9",
];

const TENANTS: usize = 100;
const ACTIONS: [&str; 3] = ["published", "cancelled", "published"];
const SETTLE: Duration = Duration::from_secs(900);

/// Runs one provisioner scenario and measures it: `sent` and `stored` count tenants.
pub async fn run(name: &'static str, bin_dir: PathBuf) -> Outcome {
    let cluster = match tokio::task::spawn_blocking(RabbitCluster::ensure).await {
        Ok(c) => c,
        Err(e) => return failed(name, anyhow::anyhow!("the cluster did not start: {e}")),
    };
    let control_plane = ControlPlane::connect().await;
    let world = match World::on(name, bin_dir, &cluster.amqp_url_from(1), Duration::from_secs(60)).await {
        Ok(w) => w,
        Err(e) => return failed(name, e),
    };
    let result = scenario(name, &world, &cluster, &control_plane).await;
    let right = settled(&control_plane, &world.prefix).await as i64;
    let outcome = match result {
        Ok(recovery) => Outcome {
            scenario: name,
            sent: TENANTS as i64,
            stored: right,
            duplicates: 0,
            dead_lettered: world.dead_lettered().await,
            recovery,
            expected_dead: 0,
            wrong_states: Some(TENANTS as i64 - right),
            error: None,
        },
        Err(e) => Outcome { stored: right, wrong_states: Some(TENANTS as i64 - right), ..failed(name, e) },
    };
    clean_up(&control_plane, &world.prefix).await;
    finish(world).await;
    outcome
}

async fn scenario(
    name: &str,
    w: &World,
    cluster: &RabbitCluster,
    cp: &ControlPlane,
) -> anyhow::Result<Duration> {
    let mut first = start_provisioner(w, cluster, cp, 1).await?;
    let _second = start_provisioner(w, cluster, cp, 2).await?;
    let orders = orders(&w.prefix);
    let fault = async {
        wait_settled(cp, &w.prefix, 10).await?;
        let leader = leader_of(cluster, &format!("{}.provisioner", w.prefix)).await?;
        let ended = match name {
            "tenants-replica-kill-9" => {
                first.signal("-KILL");
                let _ = first.child.wait().await;
                let ended = Instant::now();
                first = start_provisioner(w, cluster, cp, 1).await?;
                ended
            }
            other => node_fault(other.trim_start_matches("tenants-"), cluster, leader).await?,
        };
        Ok::<_, anyhow::Error>(ended)
    };
    // Ten orders a second: the orders are still coming while the fault hits.
    let publish =
        w.publish_windows(0..orders.len(), 10, |i| w.publisher.event_with_id(&orders[i].0, &orders[i].1));
    let (published, ended) = tokio::join!(publish, fault);
    published?;
    let ended = ended?;
    wait_settled(cp, &w.prefix, TENANTS).await?;
    Ok(ended.elapsed())
}

/// Replica `n` of the provisioner, listing the nodes from node `n`.
async fn start_provisioner(
    w: &World,
    cluster: &RabbitCluster,
    cp: &ControlPlane,
    n: u8,
) -> anyhow::Result<Service> {
    let path = |p: &Path| p.display().to_string();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let env = [
        ("KUBECONFIG", path(&cp.kubeconfig)),
        ("PROVISIONER_HELM_BIN", path(&cp.helm)),
        ("PROVISIONER_CHART_ROOT", path(&repo)),
        ("PROVISIONER_LEASE_DURATION", "5s".into()),
        ("PROVISIONER_HELM_TIMEOUT", "120s".into()),
        ("PROVISIONER_HELM_KILL_GRACE", "5s".into()),
        ("PROVISIONER_PUBLISH_TIMEOUT", "60s".into()),
        ("PROVISIONER_RESYNC_INTERVAL", "60s".into()),
    ];
    w.start_service("provisioner", &cluster.amqp_url_from(n), 2, &env).await
}

/// Each tenant's three orders one second apart, message ids `<client>-<k>`, shuffled.
fn orders(prefix: &str) -> Vec<(Envelope, String)> {
    let base = Utc::now();
    let mut orders = Vec::with_capacity(TENANTS * ACTIONS.len());
    for i in 0..TENANTS {
        let client = format!("{prefix}-t{i:02}");
        for (k, action) in ACTIONS.iter().enumerate() {
            let event_type =
                EventType::new("mycompany", "producer", &client, action).expect("a valid event type");
            let body = serde_json::json!({
                "client": client, "namespace": client, "environment": "development",
                "archtype": "saas", "hardware": "dedicated", "product": "product-a"
            });
            let mut envelope = Envelope::new(
                event_type,
                uuid::Uuid::new_v4(),
                body.as_object().cloned().unwrap_or_default(),
            );
            envelope.attributes.published_on = base + Span::seconds(k as i64);
            orders.push((envelope, format!("{client}-{k}")));
        }
    }
    eda_tests::order_load::shuffle(&mut orders, 0x21);
    orders
}

/// Tenants of `prefix` Provisioned for their newest order (`<client>-2`).
async fn settled(cp: &ControlPlane, prefix: &str) -> usize {
    let tenants = cp.list("tenants", None, Some(&format!("eda.io/prefix={prefix}"))).await;
    tenants
        .iter()
        .filter(|t| {
            let newest = format!("{}-2", t["spec"]["namespace"].as_str().unwrap_or_default());
            t["spec"]["order"]["id"] == newest.as_str()
                && t["status"]["observedOrder"] == newest.as_str()
                && t["status"]["phase"] == "Provisioned"
        })
        .count()
}

/// Polls the API (a list every 2 s) until `n` tenants are settled.
async fn wait_settled(cp: &ControlPlane, prefix: &str, n: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let done = settled(cp, prefix).await;
        if done >= n {
            return Ok(());
        }
        anyhow::ensure!(started.elapsed() < SETTLE, "only {done} of {n} tenants settled after {SETTLE:?}");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// This scenario's Tenants, Lease and namespaces (and so its releases) go.
async fn clean_up(cp: &ControlPlane, prefix: &str) {
    for tenant in cp.list("tenants", None, Some(&format!("eda.io/prefix={prefix}"))).await {
        cp.delete("tenants", None, tenant["metadata"]["name"].as_str().unwrap_or_default()).await;
    }
    cp.delete("leases", Some("default"), &format!("{prefix}-provisioner")).await;
    for ns in cp.list("namespaces", None, None).await {
        let name = ns["metadata"]["name"].as_str().unwrap_or_default();
        if name.starts_with(&format!("{prefix}-")) {
            cp.delete("namespaces", None, name).await;
        }
    }
}
