//! The kinds the test fixture serves: which plurals exist, their Kind and their scope.

use std::collections::BTreeSet;

/// One resource type the fixture serves, e.g. `coordination.k8s.io/v1` `leases` (`Lease`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceKind {
    /// API group; `""` for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    /// Whether `…/{name}/status` is a subresource: writes to the main resource keep the
    /// stored status, writes to `/status` change only the status.
    pub status_subresource: bool,
}

impl ResourceKind {
    pub const fn namespaced(
        group: &'static str,
        version: &'static str,
        plural: &'static str,
        kind: &'static str,
    ) -> Self {
        Self { group, version, plural, kind, namespaced: true, status_subresource: false }
    }

    pub const fn cluster(
        group: &'static str,
        version: &'static str,
        plural: &'static str,
        kind: &'static str,
    ) -> Self {
        Self { group, version, plural, kind, namespaced: false, status_subresource: false }
    }

    pub const fn with_status(mut self) -> Self {
        self.status_subresource = true;
        self
    }

    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural.group` as Kubernetes spells it in messages (`leases.coordination.k8s.io`).
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// The kinds every fixture serves. Adding a kind is one line.
pub const DEFAULT_KINDS: &[ResourceKind] = &[
    ResourceKind::cluster("", "v1", "namespaces", "Namespace").with_status(),
    ResourceKind::namespaced("", "v1", "events", "Event"),
    ResourceKind::namespaced("", "v1", "configmaps", "ConfigMap"),
    ResourceKind::namespaced("", "v1", "secrets", "Secret"),
    ResourceKind::namespaced("", "v1", "serviceaccounts", "ServiceAccount"),
    ResourceKind::namespaced("", "v1", "pods", "Pod").with_status(),
    ResourceKind::namespaced("", "v1", "resourcequotas", "ResourceQuota").with_status(),
    ResourceKind::namespaced("", "v1", "limitranges", "LimitRange"),
    ResourceKind::namespaced("events.k8s.io", "v1", "events", "Event"),
    ResourceKind::namespaced("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy"),
    ResourceKind::namespaced("coordination.k8s.io", "v1", "leases", "Lease"),
    ResourceKind::cluster("eda.io", "v1alpha1", "tenants", "Tenant").with_status(),
    ResourceKind::namespaced("helm.toolkit.fluxcd.io", "v2", "helmreleases", "HelmRelease").with_status(),
    ResourceKind::namespaced("source.toolkit.fluxcd.io", "v1", "helmrepositories", "HelmRepository")
        .with_status(),
    ResourceKind::namespaced("source.toolkit.fluxcd.io", "v1", "gitrepositories", "GitRepository")
        .with_status(),
    ResourceKind::namespaced("source.toolkit.fluxcd.io", "v1", "ocirepositories", "OCIRepository")
        .with_status(),
];

/// The served kinds, minus the groups a test switched off.
#[derive(Debug, Clone)]
pub(crate) struct Registry {
    kinds: Vec<ResourceKind>,
    disabled_groups: BTreeSet<String>,
}

impl Default for Registry {
    fn default() -> Self {
        Self { kinds: DEFAULT_KINDS.to_vec(), disabled_groups: BTreeSet::new() }
    }
}

impl Registry {
    pub(crate) fn add(&mut self, kind: ResourceKind) {
        self.kinds.retain(|k| (k.group, k.version, k.plural) != (kind.group, kind.version, kind.plural));
        self.kinds.push(kind);
    }

    pub(crate) fn set_group_served(&mut self, group: &str, served: bool) {
        if served {
            self.disabled_groups.remove(group);
        } else {
            self.disabled_groups.insert(group.to_string());
        }
    }

    pub(crate) fn is_served(&self, group: &str) -> bool {
        !self.disabled_groups.contains(group)
    }

    /// Every served kind, in table order.
    pub(crate) fn served(&self) -> impl Iterator<Item = &ResourceKind> {
        self.kinds.iter().filter(|k| self.is_served(k.group))
    }

    /// The served `(group, version)` pairs, core first, in table order.
    pub(crate) fn group_versions(&self) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<(&'static str, &'static str)> = Vec::new();
        for k in self.served() {
            if !out.contains(&(k.group, k.version)) {
                out.push((k.group, k.version));
            }
        }
        out
    }

    pub(crate) fn find(&self, group: &str, version: &str, plural: &str) -> Option<ResourceKind> {
        self.served().find(|k| k.group == group && k.version == version && k.plural == plural).copied()
    }

    /// The kind of an object by its `apiVersion` and `kind`, served or not.
    pub(crate) fn by_api_version_kind(&self, api_version: &str, kind: &str) -> Option<ResourceKind> {
        self.kinds.iter().find(|k| k.api_version() == api_version && k.kind == kind).copied()
    }

    /// Resolves what a test names a kind by, whether its group is served or not:
    /// `plural` or `Kind` (core group preferred, so `events` is core/v1),
    /// `plural.group` (`events.events.k8s.io`), or `apiVersion/plural` /
    /// `apiVersion/Kind` (`events.k8s.io/v1/Event`, `v1/namespaces`).
    pub(crate) fn resolve(&self, name: &str) -> Option<ResourceKind> {
        if let Some((api_version, last)) = name.rsplit_once('/') {
            return self
                .kinds
                .iter()
                .find(|k| k.api_version() == api_version && (k.plural == last || k.kind == last))
                .copied();
        }
        let mut by_name = self.kinds.iter().filter(|k| k.plural == name || k.kind == name);
        let first = by_name.clone().find(|k| k.group.is_empty()).or_else(|| by_name.next());
        first.or_else(|| self.kinds.iter().find(|k| k.qualified_plural() == name)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_plural_resolves_to_the_core_group_first() {
        let registry = Registry::default();
        assert_eq!(registry.resolve("events").unwrap().group, "");
        assert_eq!(registry.resolve("events.events.k8s.io").unwrap().group, "events.k8s.io");
        assert_eq!(registry.resolve("events.k8s.io/v1/Event").unwrap().group, "events.k8s.io");
        assert_eq!(registry.resolve("HelmRelease").unwrap().plural, "helmreleases");
        assert_eq!(registry.resolve("v1/namespaces").unwrap().kind, "Namespace");
        assert!(registry.resolve("deployments").is_none());
    }

    #[test]
    fn a_switched_off_group_is_not_served_but_still_resolves() {
        let mut registry = Registry::default();
        registry.set_group_served("events.k8s.io", false);
        assert!(registry.find("events.k8s.io", "v1", "events").is_none());
        assert!(!registry.group_versions().contains(&("events.k8s.io", "v1")));
        assert!(registry.resolve("events.events.k8s.io").is_some());
    }
}
