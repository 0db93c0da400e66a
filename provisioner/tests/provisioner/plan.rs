//! `--mode plan`: no cluster, no helm; `provisioned` with `dry_run: true`.

use provisioner::config::{DeployerKind, Mode};
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn plan_mode_needs_no_cluster_and_publishes_a_dry_run() {
    let h = Harness::start(Setup {
        mode: Mode::Plan,
        tune: Box::new(|c| {
            // Nothing a real run would need exists: any use of them would fail the order.
            c.kubeconfig = Some("/nonexistent/kubeconfig".into());
            c.helm_bin = "/nonexistent/helm".into();
        }),
        ..on_fixture()
    })
    .await;
    h.publish(&order("cliente12", "published")).await;

    let events = h.next_events(2).await;
    assert_eq!(events[0].0, "provisioning");
    let (action, body) = &events[1];
    assert_eq!(action, "provisioned");
    assert_eq!(body["dry_run"], true);
    assert_eq!(body["revision"], Value::Null);
    assert_eq!(body["chart"], "helm/demo-product");
    assert!(h.api().requests().is_empty(), "the API was never called");
    h.finish().await;
}

#[tokio::test]
async fn plan_mode_with_the_flux_deployer_also_publishes_a_dry_run() {
    let h = Harness::start(Setup {
        mode: Mode::Plan,
        deployer: DeployerKind::Flux,
        tune: Box::new(|c| c.kubeconfig = Some("/nonexistent/kubeconfig".into())),
        ..on_fixture()
    })
    .await;
    h.publish(&order("cliente13", "published")).await;
    let events = h.next_events(2).await;
    assert_eq!(events[1].0, "provisioned");
    assert_eq!(events[1].1["dry_run"], true);
    h.publish(&order("cliente13", "cancelled")).await;
    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "deprovisioned");
    assert_eq!(events[0].1["dry_run"], true);
    assert!(h.api().requests().is_empty());
    h.finish().await;
}
