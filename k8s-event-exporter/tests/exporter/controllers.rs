//! The Events the real controllers write (kube-controller-manager's deployment and
//! replicaset controllers through core/v1, the scheduler through events.k8s.io/v1), for a
//! Deployment in a tenant namespace as the provisioner writes it: each is published once,
//! tagged with the purchase's trace id. On the real control plane only.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::World;

#[tokio::test]
async fn the_events_the_real_controllers_write_for_a_deployment_carry_its_trace_id() {
    let w = World::new().await;
    let exporter = w.start(w.config()).await;
    let trace_id = Uuid::new_v4();
    let ns = w.namespace("shop", Some(trace_id)).await;
    w.service_account_ready(&ns).await;
    // As the demo chart renders it, with the provisioner's pod annotations.
    let pod_annotations = json!({"trace_id": trace_id.to_string(), "client": "shop-client"});
    w.cluster()
        .create(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web", "trace_id": trace_id.to_string()},
                        "annotations": pod_annotations},
                    "spec": {"automountServiceAccountToken": false,
                        "containers": [{"name": "web", "image": "registry.invalid/eda/web:1"}]}}}}))
        .await;

    // deployment-controller, replicaset-controller, default-scheduler: in that causal order,
    // but three writers, so they may be stored (and come) in any order.
    let expected = [
        ("ScalingReplicaSet", "Deployment", "deployment-controller"),
        ("SuccessfulCreate", "ReplicaSet", "replicaset-controller"),
        ("Scheduled", "Pod", "default-scheduler"),
    ];
    let mut got: BTreeMap<String, Value> = BTreeMap::new();
    while got.len() < expected.len() {
        let message = w.take(1).await.remove(0);
        let reason = message["reason"].as_str().unwrap_or_default().to_owned();
        assert!(expected.iter().any(|(r, ..)| *r == reason), "unexpected event {message:#}");
        assert!(got.insert(reason, message.clone()).is_none(), "published twice: {message:#}");
    }
    for (reason, kind, controller) in expected {
        let m = &got[reason];
        assert_eq!(m["MessageAttributes"]["trace_id"], trace_id.to_string(), "{m:#}");
        assert_eq!(
            m["MessageAttributes"]["event_type"]["Value"],
            format!("mycompany.k8s-event-exporter.event.shop-client.{}", reason.to_lowercase())
        );
        assert_eq!(
            (m["involved_object"]["kind"].as_str(), m["reporting_controller"].as_str()),
            (Some(kind), Some(controller)),
            "{m:#}"
        );
        assert_eq!(
            (m["namespace"].as_str(), m["type"].as_str(), m["count"].as_i64()),
            (Some(ns.as_str()), Some("Normal"), Some(1))
        );
    }
    w.assert_nothing_more(&ns).await;
    exporter.stop().await;
    w.cleanup().await;
}
