//! Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/{g}/{v}`, `/version`), plain and
//! aggregated (apidiscovery.k8s.io/v2), built from the served kinds.

use serde_json::{json, Value};

use super::registry::{Registry, ResourceKind};

const VERBS: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

/// The content type of an aggregated discovery answer.
pub(crate) const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the `Accept` header asks for aggregated discovery.
pub(crate) fn wants_aggregated(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("g=apidiscovery.k8s.io"))
}

pub(crate) fn version() -> Value {
    json!({
        "major": "1", "minor": "33", "gitVersion": "v1.33.0+eda-test-fixture",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.24", "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

pub(crate) fn groups(registry: &Registry) -> Value {
    let groups: Vec<Value> = group_names(registry)
        .into_iter()
        .map(|group| {
            let versions: Vec<Value> = registry
                .group_versions()
                .into_iter()
                .filter(|(g, _)| *g == group)
                .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                .collect();
            json!({"name": group, "versions": versions, "preferredVersion": versions[0]})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub(crate) fn resources(registry: &Registry, group: &str, version: &str) -> Value {
    let kinds = kinds_of(registry, group, version);
    let mut resources = Vec::new();
    for k in &kinds {
        resources.push(json!({
            "name": k.plural, "singularName": k.kind.to_lowercase(), "namespaced": k.namespaced,
            "kind": k.kind, "verbs": VERBS,
        }));
        if k.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", k.plural), "singularName": "", "namespaced": k.namespaced,
                "kind": k.kind, "verbs": STATUS_VERBS,
            }));
        }
    }
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

/// `/apis` (all groups but core) or `/api` (core only) as an `APIGroupDiscoveryList`.
pub(crate) fn aggregated(registry: &Registry, core: bool) -> Value {
    let items: Vec<Value> = group_names(registry)
        .into_iter()
        .chain(core.then_some(""))
        .filter(|g| g.is_empty() == core)
        .map(|group| {
            let versions: Vec<Value> = registry
                .group_versions()
                .into_iter()
                .filter(|(g, _)| *g == group)
                .map(|(_, v)| {
                    let resources: Vec<Value> =
                        kinds_of(registry, group, v).iter().map(aggregated_resource).collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": {"name": group}, "versions": versions})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

fn aggregated_resource(k: &ResourceKind) -> Value {
    let gvk = json!({"group": k.group, "version": k.version, "kind": k.kind});
    let subresources: Vec<Value> = k
        .status_subresource
        .then(|| json!({"subresource": "status", "responseKind": gvk, "verbs": STATUS_VERBS}))
        .into_iter()
        .collect();
    json!({
        "resource": k.plural, "responseKind": gvk,
        "scope": if k.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": k.kind.to_lowercase(), "verbs": VERBS, "subresources": subresources,
    })
}

/// Named groups (not core), each once, in table order.
fn group_names(registry: &Registry) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for (g, _) in registry.group_versions() {
        if !g.is_empty() && !names.contains(&g) {
            names.push(g);
        }
    }
    names
}

fn kinds_of(registry: &Registry, group: &str, version: &str) -> Vec<ResourceKind> {
    registry.served().filter(|k| k.group == group && k.version == version).copied().collect()
}
