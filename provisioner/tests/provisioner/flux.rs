//! The flux deployer on the real control plane, with Flux's real HelmRelease CRD
//! (tests/fixtures/crds/): a HelmRelease applied; its Ready condition, written here through
//! the status subresource as helm-controller would (TEST FIXTURE: helm-controller cannot be
//! built here), decides between `provisioned` and `failed`.

use provisioner::config::DeployerKind;
use serde_json::{json, Value};

use crate::helpers::*;

fn flux() -> Setup {
    Setup { deployer: DeployerKind::Flux, helm: Helm::Fake(Vec::new()), ..Setup::default() }
}

/// Waits for the HelmRelease, then sets its status as helm-controller would.
async fn helm_controller_reports(
    h: &Harness,
    namespace: &str,
    status: &str,
    reason: &str,
    message: &str,
) -> Value {
    let release = h.cluster().wait_for("helmreleases", Some(namespace), "product-a", |_| true).await;
    let generation = release["metadata"]["generation"].as_i64().unwrap_or(1);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // Every field the real CRD's schema requires of a snapshot and a condition.
    h.cluster()
        .patch_status(
            "helmreleases",
            Some(namespace),
            "product-a",
            json!({
                "observedGeneration": generation,
                "history": [{"version": 1, "chartName": "demo-product", "chartVersion": "0.1.0",
                    "configDigest": "sha256:0", "digest": "sha256:0", "firstDeployed": now, "lastDeployed": now,
                    "name": "product-a", "namespace": namespace, "status": "deployed"}],
                "conditions": [{"type": "Ready", "status": status, "reason": reason, "message": message,
                    "observedGeneration": generation, "lastTransitionTime": now}],
            }),
        )
        .await;
    release
}

#[tokio::test]
async fn a_helm_release_becoming_ready_is_reported_as_provisioned() {
    let h = Harness::start(flux()).await;
    let client = h.client("c14");
    h.publish(&order(&client, "published")).await;
    assert_eq!(h.actions(1).await, ["provisioning"]);
    let release =
        helm_controller_reports(&h, &client, "True", "InstallSucceeded", "Helm install succeeded").await;

    assert_eq!(release["apiVersion"], "helm.toolkit.fluxcd.io/v2");
    assert_eq!(release["metadata"]["annotations"]["eda.io/trace-id"], TRACE_ID);
    assert_eq!(release["metadata"]["labels"]["app.kubernetes.io/managed-by"], "eda-provisioner");
    assert!(managers(&release).iter().any(|m| m == "eda-provisioner"), "{:?}", managers(&release));
    let spec = &release["spec"];
    assert_eq!(spec["releaseName"], "product-a");
    assert_eq!(
        spec["chart"]["spec"],
        // `reconcileStrategy` and `version` are the real CRD's schema defaults.
        json!({"chart": "./helm/demo-product", "reconcileStrategy": "ChartVersion", "version": "*",
               "sourceRef": {"kind": "GitRepository", "name": "eda-charts", "namespace": "flux-system"}})
    );
    assert_eq!(spec["values"]["podAnnotations"], json!({"trace_id": TRACE_ID, "client": client}));
    assert_eq!(spec["values"]["podLabels"], json!({"trace_id": TRACE_ID}));
    assert_eq!(spec["commonMetadata"]["annotations"]["eda.io/trace-id"], TRACE_ID);
    assert_eq!(spec["commonMetadata"]["labels"]["eda.io/trace-id"], TRACE_ID);
    assert_eq!(spec["install"]["remediation"]["retries"], 2);

    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "provisioned");
    assert_eq!(events[0].1["revision"], 1);
    assert_eq!(events[0].1["dry_run"], false);
    assert!(h.cluster().get("namespaces", None, &client).await.is_some());
    assert!(h.helm_calls().is_empty(), "the flux deployer never runs helm");
    h.finish().await;
}

#[tokio::test]
async fn a_helm_release_that_fails_to_install_is_reported_as_failed_with_fluxs_reason() {
    let h = Harness::start(flux()).await;
    let client = h.client("c15");
    h.publish(&order(&client, "published")).await;
    assert_eq!(h.actions(1).await, ["provisioning"]);
    helm_controller_reports(&h, &client, "False", "InstallFailed", "Helm install failed: image pull backoff")
        .await;

    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "failed");
    assert_eq!(
        events[0].1["error"],
        format!("HelmRelease {client}/product-a: InstallFailed: Helm install failed: image pull backoff")
    );
    let tenant = h.tenant_in(&client, "product-a", "Failed").await;
    assert_eq!(
        tenant["status"]["conditions"][0]["reason"], "PermanentError",
        "Flux's InstallFailed is final"
    );
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0, "the order itself was good");
    h.finish().await;
}

#[tokio::test]
async fn a_helm_release_never_ready_times_out_is_retried_and_then_the_tenant_fails() {
    let h = Harness::start(Setup {
        tune: Box::new(|c| {
            c.flux_timeout = std::time::Duration::from_millis(300);
            c.common.max_retries = 2;
        }),
        ..flux()
    })
    .await;
    let client = h.client("c17");
    h.publish(&order(&client, "published")).await;

    let events = h.next_events(2).await;
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["provisioning", "failed"], "one event per phase change, however many attempts");
    assert_eq!(
        events[1].1["error"],
        format!("HelmRelease {client}/product-a not ready within 300ms: no Ready condition yet")
    );
    let tenant = h.tenant_in(&client, "product-a", "Failed").await;
    assert_eq!(tenant["status"]["attempts"], 2, "EDA_MAX_RETRIES attempts, then Failed");
    assert_eq!(tenant["status"]["conditions"][0]["reason"], "RetriesExhausted");
    h.finish().await;
}

#[tokio::test]
async fn a_helm_release_deleted_by_hand_is_applied_again_at_the_next_resync() {
    let h = Harness::start(Setup {
        tune: Box::new(|c| c.resync_interval = std::time::Duration::from_millis(500)),
        ..flux()
    })
    .await;
    let client = h.client("c18");
    h.publish(&order(&client, "published")).await;
    assert_eq!(h.actions(1).await, ["provisioning"]);
    let first =
        helm_controller_reports(&h, &client, "True", "InstallSucceeded", "Helm install succeeded").await;
    assert_eq!(h.actions(1).await, ["provisioned"]);
    h.tenant_in(&client, "product-a", "Provisioned").await;

    h.cluster().delete("helmreleases", Some(&client), "product-a").await;
    // The resync applies it again (a new object: another uid) and waits for helm-controller's
    // verdict. (Not waiting for it to be gone first: the resync may be quicker than a watch.)
    let again = h
        .cluster()
        .wait_for("helmreleases", Some(&client), "product-a", |r| {
            r["metadata"]["uid"] != first["metadata"]["uid"]
        })
        .await;
    assert_eq!(again["spec"]["releaseName"], "product-a");
    helm_controller_reports(&h, &client, "True", "InstallSucceeded", "Helm install succeeded").await;
    h.wait_for_metric(r#"eda_provisioner_resync_repairs_total{service="provisioner",object="release"}"#, 1.0)
        .await;
    assert_eq!(h.t.queue_len(&h.events).await, 0, "a repair publishes no event");
    h.finish().await;
}
