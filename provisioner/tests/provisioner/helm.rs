//! The helm deployer on the real control plane with the real helm: objects applied, the
//! release ready with its pods carrying the trace id, a chart that never becomes ready; and,
//! with the stand-in helm, the exact argument vector and how helm's failures become retries
//! or dead letters.

use serde_json::{json, Value};

use crate::helpers::*;

/// `helm status` of a release, as JSON.
fn helm_status(h: &Harness, namespace: &str, release: &str) -> Value {
    let out = h.cluster().helm(&["status", release, "--namespace", namespace, "--output", "json"]);
    assert!(out.status.success(), "helm status: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("helm status prints JSON")
}

fn has_manager(object: &Value, manager: &str) -> bool {
    managers(object).iter().any(|m| m == manager)
}

#[tokio::test]
async fn a_published_order_becomes_a_namespace_a_baseline_and_a_ready_release_whose_pods_carry_the_trace() {
    let h = Harness::start(Setup::default()).await;
    let client = h.client("c02");
    h.publish(&order(&client, "published")).await;

    let events = h.next_events(2).await;
    assert_eq!(events[0].0, "provisioning");
    let (action, provisioned) = &events[1];
    assert_eq!(action, "provisioned", "{provisioned:#}");
    assert_eq!(
        provisioned["MessageAttributes"]["event_type"]["Value"],
        format!("mycompany.provisioner.event.{client}.provisioned")
    );
    assert_eq!(provisioned["MessageAttributes"]["trace_id"], TRACE_ID);
    for (field, value) in [
        ("client", json!(client)),
        ("namespace", json!(client)),
        ("product", json!("product-a")),
        ("environment", json!("development")),
        ("release", json!("product-a")),
        ("chart", json!("helm/demo-product")),
        ("version", json!("0.1.0")),
        ("revision", json!(1)),
        ("dry_run", json!(false)),
    ] {
        assert_eq!(provisioned[field], value, "provisioned.{field}");
    }

    // Every baseline object, applied server-side by eda-provisioner and accepted by the real
    // API server. (1.20 has no PodSecurity admission and no CNI plugin runs here: the labels
    // and the policy are checked as objects, not enforced.)
    let c = h.cluster();
    let ns = c.get("namespaces", None, &client).await.expect("the namespace exists");
    assert_eq!(
        ns["metadata"]["labels"],
        json!({
            "app.kubernetes.io/managed-by": "eda-provisioner", "eda.io/client": client,
            "eda.io/environment": "development", "pod-security.kubernetes.io/enforce": "baseline",
            "pod-security.kubernetes.io/audit": "baseline", "pod-security.kubernetes.io/warn": "baseline",
        })
    );
    assert_eq!(ns["metadata"]["annotations"]["eda.io/trace-id"], TRACE_ID);
    assert!(has_manager(&ns, "eda-provisioner"), "{:?}", managers(&ns));
    let quota = c.get("resourcequotas", Some(&client), "eda-tenant-baseline").await.expect("quota");
    assert_eq!(
        quota["spec"]["hard"],
        json!({"limits.cpu": "16", "limits.memory": "32Gi", "pods": "100", "requests.cpu": "8", "requests.memory": "16Gi"})
    );
    let limits = c.get("limitranges", Some(&client), "eda-tenant-baseline").await.expect("limit range");
    assert_eq!(limits["spec"]["limits"][0]["default"], json!({"cpu": "500m", "memory": "512Mi"}));
    assert_eq!(limits["spec"]["limits"][0]["defaultRequest"], json!({"cpu": "100m", "memory": "128Mi"}));
    let policy =
        c.get("networkpolicies", Some(&client), "eda-tenant-baseline").await.expect("network policy");
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(
        policy["spec"]["egress"][1]["ports"],
        json!([{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}])
    );
    for object in [&quota, &limits, &policy] {
        assert!(has_manager(object, "eda-provisioner"), "{:?}", managers(object));
        let meta = &object["metadata"];
        assert_eq!(
            meta["labels"],
            json!({"app.kubernetes.io/managed-by": "eda-provisioner", "eda.io/client": client})
        );
        assert_eq!(meta["annotations"], json!({"eda.io/trace-id": TRACE_ID}));
    }

    // The release is deployed at revision 1, ready (helm --wait returned), with the values.
    let status = helm_status(&h, &client, "product-a");
    assert_eq!(status["info"]["status"], "deployed");
    assert_eq!(status["version"], 1);
    let deployment =
        c.get("deployments", Some(&client), "product-a").await.expect("the release's Deployment");
    assert_eq!(deployment["status"]["availableReplicas"], 1, "{:#}", deployment["status"]);
    let template = &deployment["spec"]["template"]["metadata"];
    assert_eq!(template["annotations"]["trace_id"], TRACE_ID);
    assert_eq!(template["annotations"]["client"], client.as_str());
    assert_eq!(template["labels"]["trace_id"], TRACE_ID);

    // The pods the real ReplicaSet controller made, bound by the real scheduler and marked
    // ready by the fake kubelet, carry the trace id.
    let pods = c.list("pods", Some(&client), Some(&format!("trace_id={TRACE_ID}"))).await;
    assert_eq!(pods.len(), 1, "{pods:#?}");
    assert_eq!(pods[0]["metadata"]["annotations"]["trace_id"], TRACE_ID);
    assert!(pods[0]["spec"]["nodeName"].is_string(), "bound to a node by the scheduler");
    assert_eq!(pods[0]["status"]["phase"], "Running");
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    let provisions =
        r#"eda_provisioner_operations_total{service="provisioner",operation="provision",outcome="ok"}"#;
    h.wait_for_metric(provisions, 1.0).await;
    assert_eq!(h.metric(provisions), Some(1.0));
    h.finish().await;
}

#[tokio::test]
async fn a_chart_that_never_becomes_ready_fails_the_order_with_helms_reason() {
    let catalog = provisioner::catalog::BUILT_IN.replace(
        "      message: \"Product A\"\n",
        &format!(
            "      message: \"Product A\"\n      podAnnotations: {{ {}: \"true\" }}\n",
            eda_tests::control_plane::NEVER_READY
        ),
    );
    let h = Harness::start(Setup {
        catalog: Some(catalog),
        tune: Box::new(|c| {
            c.helm_timeout = std::time::Duration::from_secs(3);
            c.common.max_retries = 1;
        }),
        ..Setup::default()
    })
    .await;
    let client = h.client("c03");
    h.publish(&order(&client, "published")).await;

    let events = h.next_events(2).await;
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["provisioning", "failed"]);
    let error = events[1].1["error"].as_str().unwrap();
    assert!(error.starts_with("helm upgrade failed: exit status 1"), "{error}");
    assert!(error.contains("context deadline exceeded"), "helm's own reason: {error}");
    assert_eq!(
        events[1].1["failed_event_type"],
        format!("mycompany.producer.event.{client}.published"),
        "the order the Tenant recorded"
    );
    let status = helm_status(&h, &client, "product-a");
    assert_eq!(status["info"]["status"], "failed", "helm recorded the failed release");
    // The order was recorded; the reconciler owns the retries of its effects (DESIGN.md §8).
    let tenant = h.tenant_in(&client, "product-a", "Failed").await;
    let ready = &tenant["status"]["conditions"][0];
    assert_eq!(
        (&ready["type"], &ready["status"], &ready["reason"]),
        (&json!("Ready"), &json!("False"), &json!("RetriesExhausted"))
    );
    assert!(ready["message"].as_str().unwrap().contains("context deadline exceeded"), "{ready}");
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}

#[tokio::test]
async fn the_same_order_delivered_twice_changes_nothing_the_second_time() {
    let h = Harness::start(Setup::default()).await;
    let client = h.client("c05");
    let envelope = order(&client, "published");
    h.publish_with_id(&envelope, "duplicate-message-1").await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    h.publish_with_id(&envelope, "duplicate-message-1").await;
    // The duplicate is acked with no effect, and no event follows it.
    h.wait_for_acked(2).await;
    let mine = h.cluster().list("namespaces", None, Some(&format!("eda.io/client={client}"))).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(helm_status(&h, &client, "product-a")["version"], 1, "helm ran once");
    assert_eq!(h.t.queue_len(&h.events).await, 0, "a duplicate is no superseded order");
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0, "a duplicate is never an error");
    h.finish().await;
}

// With the stand-in helm (TEST FIXTURE) on the real control plane: what helm is asked to do,
// and its failures on demand.

#[tokio::test]
async fn helm_is_run_with_an_exact_argument_vector_and_the_values_in_a_file() {
    let h = Harness::start(Setup { helm: Helm::Fake(vec![]), ..Setup::default() }).await;
    let client = h.client("c06");
    h.publish(&order(&client, "published")).await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);

    let calls = h.helm_calls();
    assert_eq!(calls.len(), 1);
    let argv = &calls[0];
    let values_file = argv[9].clone();
    let chart = repo_root().join("helm/demo-product").display().to_string();
    let kubeconfig = h.kubeconfig.display().to_string();
    assert_eq!(
        argv,
        &[
            "upgrade",
            "--install",
            "product-a",
            &chart,
            "--namespace",
            &client,
            "--version",
            "0.1.0",
            "-f",
            &values_file,
            "--wait",
            "--timeout",
            "30s",
            "--output",
            "json",
            "--kubeconfig",
            &kubeconfig,
        ]
    );
    assert!(values_file.ends_with(".yaml") && values_file.contains("eda-values-"), "{values_file}");
    assert!(!std::path::Path::new(&values_file).exists(), "the values file is removed after the run");
    assert_eq!(
        h.helm_values(1),
        json!({
            "replicaCount": 1, "message": "Product A",
            "podAnnotations": {"trace_id": TRACE_ID, "client": client},
            "podLabels": {"trace_id": TRACE_ID},
        })
    );

    h.publish(&order(&client, "cancelled")).await;
    assert_eq!(h.actions(1).await, ["deprovisioned"]);
    assert_eq!(
        h.helm_calls()[1],
        [
            "uninstall",
            "product-a",
            "--namespace",
            &client,
            "--wait",
            "--timeout",
            "30s",
            "--kubeconfig",
            &kubeconfig
        ]
    );
    h.finish().await;
}

#[tokio::test]
async fn helm_failing_transiently_is_retried_and_then_succeeds() {
    let h =
        Harness::start(Setup { helm: Helm::Fake(vec!["fail-transient", "ok"]), ..Setup::default() }).await;
    h.publish(&order(&h.client("c07"), "published")).await;

    let events = h.next_events(2).await;
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["provisioning", "provisioned"], "one phase change, one event");
    assert_eq!(events[1].1["revision"], 1);
    let calls = h.helm_calls();
    assert_eq!(calls.len(), 2, "one failed run, one successful run");
    assert_eq!(calls[0][..9], calls[1][..9], "the retry runs the same command");
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}

#[tokio::test]
async fn helm_failing_permanently_fails_the_tenant_at_once_with_helms_stderr() {
    let h = Harness::start(Setup { helm: Helm::Fake(vec!["fail-permanent"]), ..Setup::default() }).await;
    h.publish(&order(&h.client("c08"), "published")).await;

    let events = h.next_events(2).await;
    assert_eq!(events[0].0, "provisioning");
    assert_eq!(events[1].0, "failed");
    let error = events[1].1["error"].as_str().unwrap();
    assert_eq!(error, "helm upgrade failed: exit status 1: Error: INSTALLATION FAILED: chart not found");
    assert_eq!(events[1].1["MessageAttributes"]["trace_id"], TRACE_ID);
    let tenant = h.tenant_in(&h.client("c08"), "product-a", "Failed").await;
    assert_eq!(tenant["status"]["conditions"][0]["reason"], "PermanentError");
    assert_eq!(tenant["status"]["conditions"][0]["status"], "False");
    h.wait_for_metric(r#"eda_provisioner_reconciles_total{service="provisioner",outcome="permanent"}"#, 1.0)
        .await;
    let failed = r#"eda_provisioner_operations_total{service="provisioner",operation="provision",outcome="permanent"}"#;
    assert_eq!(h.metric(failed), Some(1.0));
    h.wait_for_metric(r#"eda_provisioner_tenants{service="provisioner",phase="Failed"}"#, 1.0).await;
    assert_eq!(h.helm_calls().len(), 1, "a permanent failure is not retried");
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0, "the order itself was good");
    h.finish().await;
}
