//! Several provisioners of one installation: all take orders, one reconciles (the Lease), and
//! a provisioner killed mid-helm leaves nothing a successor cannot finish.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{Duration as Span, Utc};
use eda_tests::control_plane::NEVER_READY;

use crate::helpers::*;

#[tokio::test]
async fn two_replicas_on_one_queue_leave_every_tenant_in_the_state_of_its_newest_order() {
    let h = Harness::start(Setup::default()).await;
    let second = Replica::start(h.config.clone()).await;
    // 50 tenants, three orders each one second apart: even ones end bought (published,
    // cancelled, published), odd ones end cancelled (cancelled, published, cancelled).
    let base = Utc::now();
    let mut orders = Vec::new();
    for i in 0..50 {
        let client = h.client(&format!("r{i:02}"));
        let actions = if i % 2 == 0 {
            ["published", "cancelled", "published"]
        } else {
            ["cancelled", "published", "cancelled"]
        };
        for (k, action) in actions.iter().enumerate() {
            let mut envelope = order(&client, action);
            envelope.attributes.published_on = base + Span::seconds(k as i64);
            orders.push((envelope, format!("{client}-{k}")));
        }
    }
    fastrand::shuffle(&mut orders);
    for (envelope, id) in &orders {
        h.publish_with_id(envelope, id).await;
    }

    let c = h.cluster();
    for i in 0..50 {
        let client = h.client(&format!("r{i:02}"));
        let (phase, newest) =
            if i % 2 == 0 { ("Provisioned", "published") } else { ("Deprovisioned", "cancelled") };
        let newest_id = format!("{client}-2");
        let tenant = c
            .wait_for_within(Duration::from_secs(240), "tenants", None, &format!("{client}.product-a"), |t| {
                t["status"]["phase"] == phase && t["status"]["observedOrder"] == newest_id.as_str()
            })
            .await;
        assert_eq!(tenant["spec"]["order"]["id"], newest_id.as_str(), "{newest} is the newest order");
        let status = c.helm(&["status", "product-a", "--namespace", &client]);
        assert_eq!(
            status.status.success(),
            i % 2 == 0,
            "{client}: a release exactly when the newest order is a purchase"
        );
    }
    let leaders = [&h.health, &second.health]
        .iter()
        .filter(|health| {
            health.metrics.encode().contains(r#"eda_provisioner_leader{service="provisioner"} 1"#)
        })
        .count();
    assert_eq!(leaders, 1, "one replica reconciles");
    second.finish().await;
    h.finish().await;
}

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Killed {
    /// kill -9 of the whole process group: the provisioner and its helm.
    fn kill_group(&mut self) {
        let group = format!("-{}", self.0.id());
        let killed = Command::new("kill").args(["-s", "KILL", "--", &group]).status().unwrap();
        assert!(killed.success());
        self.0.wait().unwrap();
    }
}

/// The built-in catalog with pods that never get ready (the fake kubelet's annotation).
fn never_ready_catalog(h: &Harness) -> std::path::PathBuf {
    let never_ready = provisioner::catalog::BUILT_IN.replace(
        "      message: \"Product A\"\n",
        &format!("      message: \"Product A\"\n      podAnnotations: {{ {NEVER_READY}: \"true\" }}\n"),
    );
    let catalog = h.dir.path().join("never-ready.yaml");
    std::fs::write(&catalog, never_ready).unwrap();
    catalog
}

fn helm_status(h: &Harness, namespace: &str) -> serde_json::Value {
    let helm = h.cluster().helm(&["status", "product-a", "--namespace", namespace, "--output", "json"]);
    serde_json::from_slice(&helm.stdout).expect("helm status prints JSON")
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The provisioner binary in a process group of its own, with this test's settings.
fn spawn_provisioner(h: &Harness, catalog: &std::path::Path) -> Killed {
    use std::os::unix::process::CommandExt;
    let c = &h.config;
    let log = std::fs::File::create(h.dir.path().join("killed-provisioner.log")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_provisioner"))
        .env("AMQP_URL", eda_tests::broker::amqp_url())
        .env("EDA_PREFIX", &c.common.prefix)
        .env("EDA_MAX_RETRIES", "3")
        .env("EDA_RETRY_DELAYS", "50ms,100ms")
        .env("HTTP_ADDR", "127.0.0.1:0")
        .env("KUBECONFIG", &h.kubeconfig)
        .env("PROVISIONER_HELM_BIN", &c.helm_bin)
        // Its helm must still be waiting when the test kills it, however loaded the machine: a
        // timeout of its own would mark the release failed, not pending. Its successor judges the
        // abandoned release by the successor's own, shorter timeout.
        .env("PROVISIONER_HELM_TIMEOUT", "600s")
        .env("PROVISIONER_HELM_KILL_GRACE", format!("{}s", c.helm_kill_grace.as_secs()))
        .env("PROVISIONER_CHART_ROOT", &c.chart_root)
        .env("PROVISIONER_CATALOG", catalog)
        .env("PROVISIONER_LEASE_DURATION", "3s")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .map(Killed)
        .expect("the provisioner binary starts")
}

/// Every provisioner of a kill test, the binary's environment included: helm runs at most 21 s
/// (`--helm-timeout` 20 s + `--helm-kill-grace` 1 s), so a release pending longer is abandoned.
fn killable() -> Setup {
    let tune = Box::new(|c: &mut provisioner::Config| {
        c.helm_timeout = Duration::from_secs(20);
        c.helm_kill_grace = Duration::from_secs(1);
    });
    Setup { tune, ..Setup::default() }
}

/// The Tenant once it is Provisioned for its newest order (a successor's work; slow: it first
/// waits for the abandoned release to age).
async fn provisioned(h: &Harness, client: &str) -> serde_json::Value {
    let name = format!("{client}.product-a");
    let done = |t: &serde_json::Value| {
        t["status"]["phase"] == "Provisioned" && t["status"]["observedOrder"] == t["spec"]["order"]["id"]
    };
    h.cluster().wait_for_within(Duration::from_secs(90), "tenants", None, &name, done).await
}

#[tokio::test]
async fn a_provisioner_killed_mid_helm_leaves_a_pending_release_its_successor_recovers() {
    let mut h = Harness::start(killable()).await;
    h.stop_provisioner().await;
    // The first provisioner's pods never get ready, so its helm waits until it is killed.
    let mut first = spawn_provisioner(&h, &never_ready_catalog(&h));
    let client = h.client("k01");
    h.publish(&order(&client, "published")).await;
    assert_eq!(h.actions(1).await, ["provisioning"]);
    let c = h.cluster();
    c.wait_for("secrets", Some(&client), "sh.helm.release.v1.product-a.v1", |s| {
        s["metadata"]["labels"]["status"] == "pending-install"
    })
    .await;

    first.kill_group();
    assert_eq!(
        helm_status(&h, &client)["info"]["status"],
        "pending-install",
        "helm left the release pending"
    );

    // The successor (the built-in catalog: its pods get ready) takes the lease once it
    // expires, waits until the release is older than any helm run, recovers it, installs.
    let successor = Replica::start(h.config.clone()).await;
    let tenant = provisioned(&h, &client).await;
    assert_eq!(tenant["status"]["conditions"][0]["status"], "True");
    assert_eq!(h.actions(1).await, ["provisioned"], "one provisioning, one provisioned");
    assert_eq!(helm_status(&h, &client)["info"]["status"], "deployed");
    let recovered = r#"eda_provisioner_pending_releases_recovered_total{service="provisioner"} 1"#;
    assert!(successor.health.metrics.encode().contains(recovered), "{}", successor.health.metrics.encode());
    successor.finish().await;
    h.finish().await;
}

#[tokio::test]
async fn an_upgrade_killed_mid_helm_is_rolled_back_by_the_successor_and_the_newer_order_installed() {
    let mut h = Harness::start(killable()).await;
    let client = h.client("k02");
    let now = Utc::now();
    let mut bought = order(&client, "published");
    bought.attributes.published_on = now - Span::seconds(10);
    h.publish(&bought).await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    h.stop_provisioner().await;

    let c = h.cluster();
    let name = format!("{client}.product-a");
    let bought_id = c.get("tenants", None, &name).await.unwrap()["spec"]["order"]["id"].clone();

    // A provisioner whose upgrades never end, and a newer purchase of the same tenant. Its
    // first upgrade is either the newer order's or, when its start-up resync comes first, the
    // repair of its catalog's changed values, which the newer order then waits behind: either
    // way a helm that is killed mid-upgrade, with the newer order recorded.
    let mut first = spawn_provisioner(&h, &never_ready_catalog(&h));
    let mut again = order(&client, "published");
    again.attributes.published_on = now;
    h.publish(&again).await;
    c.wait_for("tenants", None, &name, |t| t["spec"]["order"]["id"] != bought_id).await;
    c.wait_for("secrets", Some(&client), "sh.helm.release.v1.product-a.v2", |s| {
        s["metadata"]["labels"]["status"] == "pending-upgrade"
    })
    .await;
    first.kill_group();
    assert_eq!(helm_status(&h, &client)["info"]["status"], "pending-upgrade");

    let successor = Replica::start(h.config.clone()).await;
    let tenant = provisioned(&h, &client).await;
    // Revision 2 pending, 3 the rollback to 1, 4 the newer order's upgrade.
    assert_eq!(tenant["status"]["revision"], 4);
    let release = helm_status(&h, &client);
    assert_eq!(
        (&release["info"]["status"], &release["version"]),
        (&serde_json::json!("deployed"), &serde_json::json!(4))
    );
    let history = c.helm(&["history", "product-a", "--namespace", &client, "--output", "json"]);
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert!(history[2]["description"].as_str().is_some_and(|d| d.contains("Rollback to 1")), "{history:#}");
    // The newer order ends provisioned, announced once (by whichever replica began it).
    let actions = h.actions(2).await;
    assert_eq!(actions, ["provisioning", "provisioned"]);
    successor.finish().await;
    h.finish().await;
}
