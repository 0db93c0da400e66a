//! The flux deployer: a HelmRelease applied, its Ready condition (set here, as helm-controller
//! would) decides between `provisioned` and `failed`.

use provisioner::config::DeployerKind;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::rbac::assert_rbac_covers;

fn flux() -> Setup {
    Setup { deployer: DeployerKind::Flux, ..Setup::default() }
}

/// Waits for the HelmRelease, then sets its status as helm-controller would.
async fn helm_controller_reports(
    h: &Harness,
    namespace: &str,
    status: &str,
    reason: &str,
    message: &str,
) -> Value {
    let release = h.api.wait_for_object("HelmRelease", Some(namespace), "product-a", |_| true).await;
    let generation = release["metadata"]["generation"].as_i64().unwrap_or(1);
    h.api.set_status(
        "HelmRelease",
        Some(namespace),
        "product-a",
        json!({
            "observedGeneration": generation,
            "history": [{"version": 1, "chartName": "demo-product", "status": "deployed"}],
            "conditions": [{"type": "Ready", "status": status, "reason": reason, "message": message,
                            "observedGeneration": generation}],
        }),
    );
    release
}

#[tokio::test]
async fn a_helm_release_becoming_ready_is_reported_as_provisioned() {
    let h = Harness::start(flux()).await;
    h.publish(&order("cliente14", "published")).await;
    assert_eq!(h.actions(1).await, ["provisioning"]);
    let release =
        helm_controller_reports(&h, "cliente14", "True", "InstallSucceeded", "Helm install succeeded").await;

    assert_eq!(release["apiVersion"], "helm.toolkit.fluxcd.io/v2");
    assert_eq!(release["metadata"]["annotations"]["eda.io/trace-id"], TRACE_ID);
    assert_eq!(release["metadata"]["labels"]["app.kubernetes.io/managed-by"], "eda-provisioner");
    assert_eq!(managers(&release), ["eda-provisioner"]);
    let spec = &release["spec"];
    assert_eq!(spec["releaseName"], "product-a");
    assert_eq!(
        spec["chart"]["spec"],
        json!({"chart": "./helm/demo-product",
               "sourceRef": {"kind": "GitRepository", "name": "eda-charts", "namespace": "flux-system"}})
    );
    assert_eq!(spec["values"]["podAnnotations"], json!({"trace_id": TRACE_ID, "client": "cliente14"}));
    assert_eq!(spec["values"]["podLabels"], json!({"trace_id": TRACE_ID}));
    assert_eq!(spec["commonMetadata"]["annotations"]["eda.io/trace-id"], TRACE_ID);
    assert_eq!(spec["commonMetadata"]["labels"]["eda.io/trace-id"], TRACE_ID);
    assert_eq!(spec["install"]["remediation"]["retries"], 2);

    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "provisioned");
    assert_eq!(events[0].1["revision"], 1);
    assert_eq!(events[0].1["dry_run"], false);
    assert!(h.api.get("namespaces", None, "cliente14").is_some());
    assert!(h.helm_calls().is_empty(), "the flux deployer never runs helm");
    assert_rbac_covers(&h.api.requests());
    h.finish().await;
}

#[tokio::test]
async fn a_helm_release_that_fails_to_install_is_reported_as_failed_with_fluxs_reason() {
    let h = Harness::start(flux()).await;
    h.publish(&order("cliente15", "published")).await;
    assert_eq!(h.actions(1).await, ["provisioning"]);
    helm_controller_reports(
        &h,
        "cliente15",
        "False",
        "InstallFailed",
        "Helm install failed: image pull backoff",
    )
    .await;

    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "failed");
    assert_eq!(
        events[0].1["error"],
        "HelmRelease cliente15/product-a: InstallFailed: Helm install failed: image pull backoff"
    );
    assert_eq!(h.dead_reasons(1).await.len(), 1);
    h.finish().await;
}

#[tokio::test]
async fn a_helm_release_never_ready_times_out_is_retried_and_then_dead_lettered() {
    let h = Harness::start(Setup {
        tune: Box::new(|c| {
            c.flux_timeout = std::time::Duration::from_millis(300);
            c.common.max_retries = 1;
        }),
        ..flux()
    })
    .await;
    h.publish(&order("cliente17", "published")).await;

    let events = h.next_events(3).await;
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["provisioning", "provisioning", "failed"]);
    assert_eq!(
        events[2].1["error"],
        "gave up after 1 retries: HelmRelease cliente17/product-a not ready within 300ms: no Ready condition yet"
    );
    h.finish().await;
}
