//! The helm deployer end to end: objects applied, the exact helm argument vector, and how
//! helm's failures become retries or dead letters.

use serde_json::json;

use crate::helpers::*;
use crate::rbac::assert_rbac_covers;

#[tokio::test]
async fn a_published_order_becomes_a_namespace_a_baseline_and_a_helm_release() {
    let h = Harness::start(Setup::default()).await;
    h.publish(&order("cliente02", "published")).await;

    let events = h.next_events(2).await;
    assert_eq!(events[0].0, "provisioning");
    let (action, provisioned) = &events[1];
    assert_eq!(action, "provisioned");
    assert_eq!(
        provisioned["MessageAttributes"]["event_type"]["Value"],
        "mycompany.provisioner.event.cliente02.provisioned"
    );
    assert_eq!(provisioned["MessageAttributes"]["trace_id"], TRACE_ID);
    for (field, value) in [
        ("client", json!("cliente02")),
        ("namespace", json!("cliente02")),
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

    // Every object, applied server-side by eda-provisioner.
    let ns = h.api.get("namespaces", None, "cliente02").expect("the namespace exists");
    assert_eq!(
        ns["metadata"]["labels"],
        json!({
            "app.kubernetes.io/managed-by": "eda-provisioner", "eda.io/client": "cliente02",
            "eda.io/environment": "development", "pod-security.kubernetes.io/enforce": "baseline",
            "pod-security.kubernetes.io/audit": "baseline", "pod-security.kubernetes.io/warn": "baseline",
        })
    );
    assert_eq!(ns["metadata"]["annotations"]["eda.io/trace-id"], TRACE_ID);
    assert_eq!(managers(&ns), ["eda-provisioner"]);
    let quota = h.api.get("resourcequotas", Some("cliente02"), "eda-tenant-baseline").expect("quota");
    assert_eq!(
        quota["spec"]["hard"],
        json!({"limits.cpu": "16", "limits.memory": "32Gi", "pods": "100", "requests.cpu": "8", "requests.memory": "16Gi"})
    );
    assert_eq!(managers(&quota), ["eda-provisioner"]);
    let limits = h.api.get("limitranges", Some("cliente02"), "eda-tenant-baseline").expect("limit range");
    assert_eq!(limits["spec"]["limits"][0]["default"], json!({"cpu": "500m", "memory": "512Mi"}));
    assert_eq!(limits["spec"]["limits"][0]["defaultRequest"], json!({"cpu": "100m", "memory": "128Mi"}));
    assert_eq!(managers(&limits), ["eda-provisioner"]);
    let policy =
        h.api.get("networkpolicies", Some("cliente02"), "eda-tenant-baseline").expect("network policy");
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(
        policy["spec"]["egress"][1]["ports"],
        json!([{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}])
    );
    assert_eq!(managers(&policy), ["eda-provisioner"]);
    for object in [&quota, &limits, &policy] {
        let meta = &object["metadata"];
        assert_eq!(
            meta["labels"],
            json!({"app.kubernetes.io/managed-by": "eda-provisioner", "eda.io/client": "cliente02"})
        );
        assert_eq!(meta["annotations"], json!({"eda.io/trace-id": TRACE_ID}));
    }

    // The exact calls: four forced applies, namespace first.
    let requests = h.api.requests();
    let calls: Vec<String> = requests.iter().map(|r| r.method_and_path()).collect();
    assert_eq!(
        calls,
        [
            "PATCH /api/v1/namespaces/cliente02",
            "PATCH /api/v1/namespaces/cliente02/resourcequotas/eda-tenant-baseline",
            "PATCH /api/v1/namespaces/cliente02/limitranges/eda-tenant-baseline",
            "PATCH /apis/networking.k8s.io/v1/namespaces/cliente02/networkpolicies/eda-tenant-baseline",
        ]
    );
    for r in &requests {
        assert_eq!(r.content_type.as_deref(), Some("application/apply-patch+yaml"));
        assert_eq!(r.query_param("fieldManager").as_deref(), Some("eda-provisioner"));
        assert_eq!(r.query_param("force").as_deref(), Some("true"));
    }
    assert_rbac_covers(&requests);

    // The exact helm argument vector.
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
            "cliente02",
            "--version",
            "0.1.0",
            "-f",
            &values_file,
            "--wait",
            "--timeout",
            "300s",
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
            "podAnnotations": {"trace_id": TRACE_ID, "client": "cliente02"},
            "podLabels": {"trace_id": TRACE_ID},
        })
    );
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    let metrics = h.health.metrics.encode();
    assert!(
        metrics.contains(
            r#"eda_provisioner_operations_total{service="provisioner",operation="provision",outcome="ok"} 1"#
        ),
        "{metrics}"
    );
    h.finish().await;
}

#[tokio::test]
async fn helm_failing_transiently_is_retried_and_then_succeeds() {
    let h = Harness::start(Setup { helm_script: vec!["fail-transient", "ok"], ..Setup::default() }).await;
    h.publish(&order("cliente03", "published")).await;

    let events = h.next_events(3).await;
    let actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["provisioning", "provisioning", "provisioned"]);
    assert_eq!(events[0].1["MessageAttributes"]["retrace_intent"], "0");
    assert_eq!(events[2].1["revision"], 1);
    let calls = h.helm_calls();
    assert_eq!(calls.len(), 2, "one failed run, one successful run");
    assert_eq!(calls[0][..9], calls[1][..9], "the retry runs the same command");
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}

#[tokio::test]
async fn helm_failing_permanently_dead_letters_the_order_with_helms_stderr() {
    let h = Harness::start(Setup { helm_script: vec!["fail-permanent"], ..Setup::default() }).await;
    h.publish(&order("cliente04", "published")).await;

    let events = h.next_events(2).await;
    assert_eq!(events[0].0, "provisioning");
    assert_eq!(events[1].0, "failed");
    let error = events[1].1["error"].as_str().unwrap();
    assert_eq!(error, "helm upgrade failed: exit status 1: Error: INSTALLATION FAILED: chart not found");
    assert_eq!(events[1].1["MessageAttributes"]["trace_id"], TRACE_ID);
    assert_eq!(h.dead_reasons(1).await, [error]);
    assert_eq!(h.helm_calls().len(), 1, "a permanent failure is not retried");
    h.finish().await;
}

#[tokio::test]
async fn the_same_order_delivered_twice_leaves_one_namespace_and_two_idempotent_helm_runs() {
    let h = Harness::start(Setup::default()).await;
    let envelope = order("cliente05", "published");
    h.publish_with_id(&envelope, "duplicate-message-1").await;
    h.publish_with_id(&envelope, "duplicate-message-1").await;

    let events = h.next_events(4).await;
    let mut actions: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["provisioned", "provisioned", "provisioning", "provisioning"]);
    let revisions: Vec<_> =
        events.iter().filter(|(a, _)| a == "provisioned").map(|(_, b)| b["revision"].clone()).collect();
    assert_eq!(revisions, [json!(1), json!(2)], "serialized: the second run upgrades the first");
    assert_eq!(h.api.list("namespaces", None).len(), 1);
    let calls = h.helm_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0][..9], calls[1][..9]);
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0, "a duplicate is never an error");
    h.finish().await;
}
