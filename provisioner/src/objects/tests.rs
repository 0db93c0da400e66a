use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::order::{Order, Tenant};

pub(crate) fn order(environment: &str, hardware: &str) -> Order {
    Order {
        tenant: Tenant {
            client: "cliente02".into(),
            namespace: "cliente02".into(),
            product: "product-a".into(),
            release: "product-a".into(),
            trace_id: Uuid::parse_str("9a2ae9de-3f82-4f55-966b-47df50ff51ff").unwrap(),
        },
        environment: environment.into(),
        hardware: hardware.into(),
        order_span: None,
    }
}

#[test]
fn the_namespace_carries_ownership_environment_pod_security_and_the_trace_id() {
    let catalog = Catalog::load(None).unwrap();
    let ns = serde_json::to_value(namespace_for(&order("production", "dedicated"), &catalog)).unwrap();
    assert_eq!(
        ns["metadata"],
        json!({
            "name": "cliente02",
            "labels": {
                "app.kubernetes.io/managed-by": "eda-provisioner",
                "eda.io/client": "cliente02",
                "eda.io/environment": "production",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
            "annotations": {"eda.io/trace-id": "9a2ae9de-3f82-4f55-966b-47df50ff51ff"},
        })
    );
}

#[test]
fn quota_and_limits_come_from_the_hardware_tier() {
    let catalog = Catalog::load(None).unwrap();
    let classic = order("development", "classic");
    let quota = serde_json::to_value(resource_quota_for(&classic, &catalog)).unwrap();
    assert_eq!(quota["metadata"]["namespace"], "cliente02");
    assert_eq!(quota["metadata"]["name"], BASELINE_NAME);
    assert_eq!(
        quota["spec"]["hard"],
        json!({"limits.cpu": "4", "limits.memory": "4Gi", "pods": "20", "requests.cpu": "2", "requests.memory": "2Gi"})
    );
    let limits = serde_json::to_value(limit_range_for(&classic, &catalog)).unwrap();
    assert_eq!(
        limits["spec"]["limits"],
        json!([{"type": "Container", "default": {"cpu": "250m", "memory": "256Mi"},
                "defaultRequest": {"cpu": "50m", "memory": "64Mi"}}])
    );
    let dedicated =
        serde_json::to_value(resource_quota_for(&order("development", "dedicated"), &catalog)).unwrap();
    assert_eq!(dedicated["spec"]["hard"]["pods"], "100");
}

#[test]
fn the_network_policy_denies_by_default_and_allows_dns_and_the_namespace_itself() {
    let policy = serde_json::to_value(network_policy_for(&order("development", "classic"), None)).unwrap();
    assert_eq!(policy["metadata"]["labels"]["app.kubernetes.io/managed-by"], "eda-provisioner");
    assert_eq!(
        policy["spec"],
        json!({
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [
                {"to": [{"podSelector": {}}]},
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                         "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                 "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
            ],
        })
    );
}

#[test]
fn a_tenant_with_a_database_may_reach_it_over_tcp_and_nothing_else_more() {
    let egress = crate::database::DatabaseEgress {
        cidr: Some("10.9.0.0/16".into()),
        namespace_labels: None,
        pod_labels: Some(vec![("app".into(), "postgres".into())]),
        port: 6432,
    };
    let without = serde_json::to_value(network_policy_for(&order("development", "classic"), None)).unwrap();
    let with =
        serde_json::to_value(network_policy_for(&order("development", "classic"), Some(&egress))).unwrap();
    let rules = with["spec"]["egress"].as_array().unwrap();
    assert_eq!(rules.len(), without["spec"]["egress"].as_array().unwrap().len() + 1);
    assert_eq!(
        rules.last().unwrap(),
        &json!({"to": [{"ipBlock": {"cidr": "10.9.0.0/16"}, "podSelector": {"matchLabels": {"app": "postgres"}}}],
            "ports": [{"protocol": "TCP", "port": 6432}]})
    );
}
