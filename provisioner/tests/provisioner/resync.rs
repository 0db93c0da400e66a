//! What a Tenant shows and what the reconciler keeps true after the order: conditions and
//! metrics, `kubectl get tenants`, drift repaired by the resync without re-running helm, and
//! tenants made before Tenants existed adopted on their next order.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_provisioned_tenant_shows_its_conditions_metrics_and_columns() {
    let h = Harness::start(Setup::default()).await;
    let client = h.client("s01");
    h.publish(&order(&client, "published")).await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);

    let tenant = h.tenant(&client, "product-a").await;
    assert_eq!(tenant["metadata"]["labels"]["eda.io/prefix"], h.t.prefix.as_str());
    let status = &tenant["status"];
    assert_eq!(
        (&status["phase"], &status["revision"], &status["version"]),
        (&json!("Provisioned"), &json!(1), &json!("0.1.0"))
    );
    assert_eq!(status["chart"], "helm/demo-product");
    assert_eq!(status["releaseHash"].as_str().map(str::len), Some(64));
    let ready = &status["conditions"][0];
    assert_eq!(
        (&ready["type"], &ready["status"], &ready["reason"]),
        (&json!("Ready"), &json!("True"), &json!("Provisioned"))
    );
    assert_eq!(ready["observedGeneration"], tenant["metadata"]["generation"]);
    assert!(ready["lastTransitionTime"].as_str().is_some_and(|t| t.ends_with('Z')), "{ready}");

    let series = [
        r#"eda_provisioner_reconciles_total{service="provisioner",outcome="ok"}"#,
        r#"eda_provisioner_tenants{service="provisioner",phase="Provisioned"}"#,
        r#"eda_provisioner_operations_total{service="provisioner",operation="provision",outcome="ok"}"#,
        r#"eda_provisioner_leader{service="provisioner"}"#,
    ];
    for s in series {
        h.wait_for_metric(s, 1.0).await;
    }
    assert_eq!(h.metric(r#"eda_provisioner_stale_orders_total{service="provisioner"}"#), Some(0.0));

    let name = format!("{client}.product-a");
    let out = h.cluster().kubectl(&["get", "tenants", &name]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "CLIENT", "PRODUCT", "ENVIRONMENT", "PHASE", "TRACE", "AGE"]);
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        row[..6],
        [name.as_str(), client.as_str(), "product-a", "development", "Provisioned", TRACE_ID]
    );
    h.finish().await;
}

#[tokio::test]
async fn a_network_policy_deleted_by_hand_comes_back_at_the_next_resync_and_helm_does_not_run_again() {
    let h = Harness::start(Setup {
        tune: Box::new(|c| c.resync_interval = Duration::from_millis(500)),
        ..Setup::default()
    })
    .await;
    let client = h.client("s02");
    h.publish(&order(&client, "published")).await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    let c = h.cluster();
    let policy = c.get("networkpolicies", Some(&client), "eda-tenant-baseline").await.expect("the baseline");
    c.delete("networkpolicies", Some(&client), "eda-tenant-baseline").await;
    c.wait_until_gone("networkpolicies", Some(&client), "eda-tenant-baseline").await;

    let back = c
        .wait_for("networkpolicies", Some(&client), "eda-tenant-baseline", |p| {
            p["metadata"]["uid"] != policy["metadata"]["uid"]
        })
        .await;
    assert_eq!(back["spec"], policy["spec"], "the same policy, applied again");
    let repairs = r#"eda_provisioner_resync_repairs_total{service="provisioner",object="baseline"}"#;
    h.wait_for_metric(repairs, 1.0).await;
    let status = c.helm(&["status", "product-a", "--namespace", &client, "--output", "json"]);
    let release: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(release["version"], 1, "resyncs re-applied the baseline; helm ran only for the order");
    assert_eq!(
        h.metric(r#"eda_provisioner_resync_repairs_total{service="provisioner",object="release"}"#),
        None
    );
    h.finish().await;
}

#[tokio::test]
async fn a_tenant_made_before_tenants_existed_is_adopted_on_its_next_order() {
    let h = Harness::start(Setup::default()).await;
    let client = h.client("s03");
    // What an earlier provisioner left: a namespace and a release, no Tenant.
    let c = h.cluster();
    c.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": client,
        "labels": {"app.kubernetes.io/managed-by": "eda-provisioner", "eda.io/client": client}}}))
        .await;
    let chart = repo_root().join("helm/demo-product").display().to_string();
    let installed = c.helm(&["install", "product-a", &chart, "--namespace", &client, "--wait"]);
    assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));
    assert!(c.get("tenants", None, &format!("{client}.product-a")).await.is_none());

    h.publish(&order(&client, "published")).await;
    let events = h.next_events(2).await;
    assert_eq!(events[1].0, "provisioned");
    assert_eq!(events[1].1["revision"], 2, "the existing release is upgraded, not installed anew");
    let tenant = h.tenant(&client, "product-a").await;
    assert_eq!(
        (&tenant["status"]["phase"], &tenant["status"]["revision"]),
        (&json!("Provisioned"), &json!(2))
    );
    let ns = c.get("namespaces", None, &client).await.unwrap();
    assert_eq!(ns["metadata"]["labels"]["eda.io/environment"], "development", "the baseline is applied");
    assert!(c.get("networkpolicies", Some(&client), "eda-tenant-baseline").await.is_some());
    h.finish().await;
}
