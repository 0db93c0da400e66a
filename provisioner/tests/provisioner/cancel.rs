//! `cancelled` on the real control plane: the release is uninstalled by the real helm; the
//! namespace stays unless the catalog says so.

use crate::helpers::*;

#[tokio::test]
async fn a_cancelled_order_uninstalls_the_release_and_keeps_the_namespace() {
    let h = Harness::start(Setup::default()).await;
    let client = h.client("c09");
    h.publish(&order(&client, "published")).await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    let c = h.cluster();
    assert!(c.get("deployments", Some(&client), "product-a").await.is_some());
    h.publish(&order(&client, "cancelled")).await;

    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "deprovisioned");
    assert_eq!(events[0].1["namespace_deleted"], false);
    assert_eq!(events[0].1["MessageAttributes"]["trace_id"], TRACE_ID);
    let status = c.helm(&["status", "product-a", "--namespace", &client]);
    assert!(!status.status.success(), "the release is gone");
    assert!(String::from_utf8_lossy(&status.stderr).contains("not found"), "{status:?}");
    assert!(c.get("deployments", Some(&client), "product-a").await.is_none(), "its objects are gone");
    let ns = c.get("namespaces", None, &client).await.expect("the namespace is kept");
    assert!(ns["metadata"]["deletionTimestamp"].is_null(), "and not being deleted");
    h.finish().await;
}

#[tokio::test]
async fn a_catalog_product_with_delete_namespace_on_cancel_removes_the_namespace() {
    let catalog = provisioner::catalog::BUILT_IN
        .replace("    deleteNamespaceOnCancel: false\n", "    deleteNamespaceOnCancel: true\n");
    let h = Harness::start(Setup { catalog: Some(catalog), ..Setup::default() }).await;
    let client = h.client("c10");
    h.publish(&order(&client, "published")).await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    h.publish(&order(&client, "cancelled")).await;

    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "deprovisioned");
    assert_eq!(events[0].1["namespace_deleted"], true);
    // The real namespace controller empties it (the fake kubelet finishes its pods), then it goes.
    h.cluster().wait_until_gone("namespaces", None, &client).await;
    h.finish().await;
}

#[tokio::test]
async fn a_replayed_cancel_of_an_uninstalled_release_still_reports_deprovisioned() {
    let h = Harness::start(Setup::default()).await;
    // Real helm answers "release: not found" for a release that was never installed.
    h.publish(&order(&h.client("c11"), "cancelled")).await;
    assert_eq!(h.actions(1).await, ["deprovisioned"]);
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}

#[tokio::test]
async fn a_product_withdrawn_from_the_catalog_can_still_be_cancelled_and_its_release_goes() {
    let h = Harness::start(Setup::default()).await;
    let client = h.client("c12");
    // A release an earlier catalog deployed, of a product this catalog no longer offers, in a
    // namespace eda made.
    let c = h.cluster();
    c.create(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": client,
        "labels": {"app.kubernetes.io/managed-by": "eda-provisioner", "eda.io/client": client}}}))
        .await;
    let chart = repo_root().join("helm/demo-product").display().to_string();
    let installed = c.helm(&["install", "product-old", &chart, "--namespace", &client]);
    assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));
    h.publish(&order_with(&client, "cancelled", serde_json::json!({"product": "product-old"}))).await;

    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "deprovisioned", "{:#}", events[0].1);
    assert_eq!(events[0].1["release"], "product-old");
    let status = c.helm(&["status", "product-old", "--namespace", &client]);
    assert!(!status.status.success(), "the withdrawn product's release is uninstalled");
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}

#[tokio::test]
async fn a_namespace_eda_did_not_make_is_never_touched_not_even_to_delete_it() {
    let catalog = provisioner::catalog::BUILT_IN
        .replace("    deleteNamespaceOnCancel: false\n", "    deleteNamespaceOnCancel: true\n");
    let h = Harness::start(Setup { catalog: Some(catalog), ..Setup::default() }).await;
    let client = h.client("c13");
    // Somebody else's namespace, named like the client.
    let c = h.cluster();
    c.create(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": client,
        "labels": {"team": "someone-else"}}}))
        .await;
    h.publish(&order(&client, "cancelled")).await;
    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "failed", "{:#}", events[0].1);
    let error = events[0].1["error"].as_str().unwrap();
    assert!(error.contains(&format!("namespace `{client}` exists and is not eda's")), "{error}");
    h.publish(&order(&client, "published")).await;
    let events = h.next_events(2).await;
    assert_eq!((events[0].0.as_str(), events[1].0.as_str()), ("provisioning", "failed"));
    let ns = c.get("namespaces", None, &client).await.expect("the namespace stays");
    assert!(ns["metadata"]["deletionTimestamp"].is_null());
    assert!(
        ns["metadata"]["labels"]["app.kubernetes.io/managed-by"].is_null(),
        "no label of eda's: {:#}",
        ns["metadata"]
    );
    assert!(c.get("resourcequotas", Some(&client), "eda-tenant-baseline").await.is_none());
    h.finish().await;
}
