//! `cancelled`: the release is uninstalled; the namespace stays unless the catalog says so.

use crate::helpers::*;

#[tokio::test]
async fn a_cancelled_order_uninstalls_the_release_and_keeps_the_namespace() {
    let h = Harness::start(Setup::default()).await;
    h.publish(&order("cliente09", "published")).await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    h.publish(&order("cliente09", "cancelled")).await;

    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "deprovisioned");
    assert_eq!(events[0].1["namespace_deleted"], false);
    assert_eq!(events[0].1["MessageAttributes"]["trace_id"], TRACE_ID);
    let kubeconfig = h.kubeconfig.display().to_string();
    assert_eq!(
        h.helm_calls()[1],
        [
            "uninstall",
            "product-a",
            "--namespace",
            "cliente09",
            "--wait",
            "--timeout",
            "300s",
            "--kubeconfig",
            &kubeconfig
        ]
    );
    assert!(h.api.get("namespaces", None, "cliente09").is_some(), "the namespace is kept");
    h.finish().await;
}

#[tokio::test]
async fn a_catalog_product_with_delete_namespace_on_cancel_removes_the_namespace() {
    let catalog = provisioner::catalog::BUILT_IN
        .replace("    deleteNamespaceOnCancel: false\n", "    deleteNamespaceOnCancel: true\n");
    let h = Harness::start(Setup { catalog: Some(catalog), ..Setup::default() }).await;
    h.publish(&order("cliente10", "published")).await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    h.publish(&order("cliente10", "cancelled")).await;

    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "deprovisioned");
    assert_eq!(events[0].1["namespace_deleted"], true);
    assert!(h.api.get("namespaces", None, "cliente10").is_none(), "the namespace is gone");
    assert!(h.api.requests().iter().any(|r| r.method_and_path() == "DELETE /api/v1/namespaces/cliente10"));
    crate::rbac::assert_rbac_covers(&h.api.requests());
    h.finish().await;
}

#[tokio::test]
async fn a_replayed_cancel_of_an_uninstalled_release_still_reports_deprovisioned() {
    let h = Harness::start(Setup {
        helm_script: vec!["fail 1 Error: uninstall: Release not loaded: product-a: release: not found"],
        ..Setup::default()
    })
    .await;
    h.publish(&order("cliente11", "cancelled")).await;
    assert_eq!(h.actions(1).await, ["deprovisioned"]);
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}
