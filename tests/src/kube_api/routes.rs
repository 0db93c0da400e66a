//! Kubernetes REST paths, parsed into what they address.

use super::registry::{Registry, ResourceKind};

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Route {
    /// `/version`
    Version,
    /// `/healthz`, `/readyz`, `/livez`
    Health,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/api/v1`, `/apis/{group}/{version}`
    Resources { group: String, version: String },
    /// A collection: list, watch, create, delete-collection. `namespace` is `None` for
    /// cluster-scoped kinds and for all-namespace requests of namespaced kinds.
    Collection { kind: ResourceKind, namespace: Option<String> },
    /// One object, or its subresource (`status`).
    Object { kind: ResourceKind, namespace: Option<String>, name: String, subresource: Option<String> },
}

/// Parses a path; `None` when it addresses nothing the fixture serves.
pub(crate) fn parse(path: &str, registry: &Registry) -> Option<Route> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["version"] => Some(Route::Version),
        ["healthz" | "readyz" | "livez"] => Some(Route::Health),
        ["api"] => Some(Route::CoreVersions),
        ["apis"] => Some(Route::Groups),
        ["api", version, rest @ ..] => resource_route("", version, rest, registry),
        ["apis", group, version, rest @ ..] if registry.is_served(group) => {
            resource_route(group, version, rest, registry)
        }
        _ => None,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str], registry: &Registry) -> Option<Route> {
    let served_version = registry.group_versions().iter().any(|&(g, v)| g == group && v == version);
    if !served_version {
        return None;
    }
    let find = |plural: &str| registry.find(group, version, plural);
    let namespaced = |plural: &str| find(plural).filter(|k| k.namespaced);
    match rest {
        [] => Some(Route::Resources { group: group.into(), version: version.into() }),
        ["namespaces", ns, plural, tail @ ..] if namespaced(plural).is_some() => {
            let kind = namespaced(plural)?;
            let namespace = Some(ns.to_string());
            match tail {
                [] => Some(Route::Collection { kind, namespace }),
                [name] => Some(Route::Object { kind, namespace, name: name.to_string(), subresource: None }),
                [name, sub] => Some(Route::Object {
                    kind,
                    namespace,
                    name: name.to_string(),
                    subresource: Some(sub.to_string()),
                }),
                _ => None,
            }
        }
        [plural] => Some(Route::Collection { kind: find(plural)?, namespace: None }),
        [plural, name, sub @ ..] if sub.len() <= 1 => {
            let kind = find(plural).filter(|k| !k.namespaced)?;
            let subresource = sub.first().map(|s| s.to_string());
            Some(Route::Object { kind, namespace: None, name: name.to_string(), subresource })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> Option<Route> {
        parse(path, &Registry::default())
    }

    fn object(route: Option<Route>) -> (&'static str, Option<String>, String, Option<String>) {
        match route {
            Some(Route::Object { kind, namespace, name, subresource }) => {
                (kind.plural, namespace, name, subresource)
            }
            other => panic!("not an object route: {other:?}"),
        }
    }

    #[test]
    fn core_paths_address_cluster_and_namespaced_objects() {
        assert_eq!(object(route("/api/v1/namespaces/c1")), ("namespaces", None, "c1".into(), None));
        assert_eq!(object(route("/api/v1/namespaces/c1/status")).3.as_deref(), Some("status"));
        assert_eq!(
            object(route("/api/v1/namespaces/c1/configmaps/cm")),
            ("configmaps", Some("c1".into()), "cm".into(), None)
        );
        assert!(matches!(route("/api/v1/events"), Some(Route::Collection { namespace: None, .. })));
        assert!(matches!(route("/api/v1/namespaces"), Some(Route::Collection { namespace: None, .. })));
        assert!(route("/api/v1/configmaps/cm").is_none(), "a namespaced object needs its namespace");
    }

    #[test]
    fn group_paths_address_custom_resources_and_their_status() {
        let r = route("/apis/helm.toolkit.fluxcd.io/v2/namespaces/c1/helmreleases/product-a/status");
        assert_eq!(object(r), ("helmreleases", Some("c1".into()), "product-a".into(), Some("status".into())));
        assert!(matches!(
            route("/apis/events.k8s.io/v1/events"),
            Some(Route::Collection { kind, namespace: None }) if kind.group == "events.k8s.io"
        ));
        assert!(matches!(route("/apis/coordination.k8s.io/v1"), Some(Route::Resources { .. })));
        assert!(route("/apis/apps/v1/deployments").is_none());
    }

    #[test]
    fn a_switched_off_group_has_no_routes() {
        let mut registry = Registry::default();
        registry.set_group_served("events.k8s.io", false);
        assert!(parse("/apis/events.k8s.io/v1/events", &registry).is_none());
        assert!(parse("/apis/events.k8s.io/v1", &registry).is_none());
    }
}
