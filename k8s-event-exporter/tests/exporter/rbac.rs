//! The chart's RBAC rules for the exporter: no wildcard, and every call the exporter makes
//! (recorded by the API fixture while it exports, leads and checkpoints) is allowed.
//!
//! The coverage check stays on the fixture: it needs every request the exporter made, which
//! only the fixture records (and a fixture without events.k8s.io for the core/v1 calls). The
//! chart's rules on the real control plane, under the real RBAC authorizer, are tested with
//! the chart.

use eda_tests::kube_api::{KubeApiTestServer, RecordedRequest};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::World;

const RBAC: &str = include_str!("../../../helm/eda/files/k8s-event-exporter-rbac.yaml");

#[derive(Debug, Deserialize)]
struct Rbac {
    #[serde(rename = "clusterRole")]
    cluster_role: Role,
    role: Role,
    /// Bound by the provisioner in each tenant namespace.
    #[serde(rename = "tenantRole")]
    tenant_role: Role,
}

#[derive(Debug, Deserialize)]
struct Role {
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    api_groups: Vec<String>,
    resources: Vec<String>,
    verbs: Vec<String>,
}

/// What RBAC sees in a request: API group, resource, namespace, verb.
#[derive(Debug, PartialEq)]
struct Access {
    group: String,
    resource: String,
    namespace: Option<String>,
    verb: &'static str,
}

fn rbac() -> Rbac {
    serde_yaml::from_str(RBAC).expect("the RBAC file parses")
}

fn allows(rules: &[Rule], a: &Access) -> bool {
    rules.iter().any(|r| {
        r.api_groups.contains(&a.group)
            && r.resources.contains(&a.resource)
            && r.verbs.iter().any(|v| v == a.verb)
    })
}

/// `None` for discovery (non-resource URLs).
fn access(r: &RecordedRequest) -> Option<Access> {
    let parts: Vec<&str> = r.path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => (String::new(), rest),
        ["apis", group, _version, rest @ ..] => (group.to_string(), rest),
        _ => return None,
    };
    let (namespace, resource, name) = match rest {
        [] => return None,
        ["namespaces", ns, resource, tail @ ..] => (Some(ns.to_string()), resource.to_string(), tail.first()),
        [resource, tail @ ..] => (None, resource.to_string(), tail.first()),
    };
    let verb = match (r.method.as_str(), name) {
        ("GET", Some(_)) => "get",
        ("GET", None) if r.is_watch() => "watch",
        ("GET", None) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "delete",
        _ => "unknown",
    };
    Some(Access { group, resource, namespace, verb })
}

fn assert_covered(kube: &KubeApiTestServer, state_namespace: &str) {
    let rbac = rbac();
    for r in kube.requests() {
        let Some(a) = access(&r) else { continue };
        let by_role = a.namespace.as_deref() == Some(state_namespace) && allows(&rbac.role.rules, &a);
        // Every other namespace the exporter reads a pod in is a tenant's (the world's).
        let by_tenant_role = a.namespace.as_deref().is_some_and(|ns| ns != state_namespace)
            && allows(&rbac.tenant_role.rules, &a);
        assert!(
            by_role || by_tenant_role || allows(&rbac.cluster_role.rules, &a),
            "{} {}?{} is not allowed by the RBAC rules: {a:?}",
            r.method,
            r.path,
            r.query
        );
    }
}

#[test]
fn the_rbac_rules_hold_no_wildcard() {
    let rbac = rbac();
    for rule in rbac.cluster_role.rules.iter().chain(&rbac.role.rules).chain(&rbac.tenant_role.rules) {
        for value in rule.api_groups.iter().chain(&rule.resources).chain(&rule.verbs) {
            assert!(!value.contains('*'), "wildcard in {rule:?}");
        }
        assert!(!rule.verbs.is_empty() && !rule.resources.is_empty(), "{rule:?}");
    }
    // The Lease and watermark are written only in the exporter's own namespace.
    for rule in &rbac.cluster_role.rules {
        assert!(rule.verbs.iter().all(|v| ["get", "list", "watch"].contains(&v.as_str())), "{rule:?}");
        assert!(
            !rule.resources.iter().any(|r| r == "pods" || r == "secrets"),
            "no pod or Secret cluster-wide: {rule:?}"
        );
    }
}

#[tokio::test]
async fn the_rbac_rules_cover_every_call_the_exporter_makes() {
    let fixtures = [
        (KubeApiTestServer::start().await, false),
        (KubeApiTestServer::builder().without_group("events.k8s.io").start().await, true),
    ];
    for (kube, core_only) in fixtures {
        let w = World::on_fixture(kube).await;
        let mut config = w.config();
        config.leader_election = true;
        let exporter = w.start(config).await;
        let ns = w.namespace("c1", Some(Uuid::new_v4())).await;
        if core_only {
            let now = chrono::Utc::now().to_rfc3339();
            w.fixture().put_object(json!({"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "core", "namespace": ns},
                "involvedObject": {"kind": "Pod", "name": "p", "uid": "p-uid", "namespace": ns},
                "reason": "Started", "type": "Normal", "firstTimestamp": now, "lastTimestamp": now}));
        } else {
            w.event(&ns, "v1", "Started", 1).await;
        }
        w.take(1).await;
        exporter.stop().await;
        let requests = w.fixture().requests();
        assert!(
            requests.iter().any(|r| r.path.ends_with("/leases/k8s-event-exporter")),
            "the lease was used"
        );
        assert!(requests.iter().any(|r| r.path.ends_with("/configmaps/k8s-event-exporter-state")));
        assert!(requests.iter().any(|r| r.method == "GET" && r.path.contains("/pods/")), "a pod was read");
        assert_covered(w.fixture(), &w.state_namespace());
        w.cleanup().await;
    }
}
