//! The provisioner's RBAC (helm/eda/files/provisioner-rbac.yaml), read as a file: no wildcard,
//! the rules the code needs are there, each in the narrowest of its three parts, and the
//! standing rights hold nothing a tenant's objects need. (The real authorizer enforcing it, with
//! the provisioner running under the chart's ServiceAccount: tests/tests/chart_on_cluster.)

use std::path::PathBuf;

use k8s_openapi::api::rbac::v1::PolicyRule;

use crate::helpers::repo_root;

pub fn rbac_path() -> PathBuf {
    repo_root().join("helm/eda/files/provisioner-rbac.yaml")
}

/// The rules of one part: `clusterRole`, `role` or `tenantRole`.
pub fn rules(part: &str) -> Vec<PolicyRule> {
    let yaml = std::fs::read_to_string(rbac_path()).expect("the RBAC file exists");
    let file: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("the RBAC file is YAML");
    serde_yaml::from_value(file[part]["rules"].clone()).unwrap_or_else(|e| panic!("{part}.rules: {e}"))
}

fn allows(rules: &[PolicyRule], group: &str, resource: &str, verb: &str) -> bool {
    rules.iter().any(|r| {
        r.api_groups.as_deref().unwrap_or_default().iter().any(|g| g == group)
            && r.resources.as_deref().unwrap_or_default().iter().any(|x| x == resource)
            && r.verbs.iter().any(|v| v == verb)
    })
}

#[test]
fn the_rbac_rules_have_no_wildcard() {
    for part in ["clusterRole", "role", "tenantRole"] {
        let rules = rules(part);
        assert!(!rules.is_empty(), "{part}");
        for rule in &rules {
            let all = rule
                .api_groups
                .iter()
                .flatten()
                .chain(rule.resources.iter().flatten())
                .chain(rule.verbs.iter());
            for word in all {
                assert!(!word.contains('*'), "wildcard `{word}` in {part}: {rule:?}");
            }
            assert!(rule.non_resource_urls.is_none(), "no non-resource URLs are needed: {rule:?}");
        }
    }
}

#[test]
fn the_rbac_rules_cover_what_the_code_applies_deletes_and_watches() {
    let standing = [
        ("eda.io", "tenants", "get"),
        ("eda.io", "tenants", "list"),
        ("eda.io", "tenants", "watch"),
        ("eda.io", "tenants", "create"),
        ("eda.io", "tenants", "update"),
        ("eda.io", "tenants/status", "patch"),
        ("", "namespaces", "get"),
        ("", "namespaces", "create"),
        ("", "namespaces", "patch"),
        ("rbac.authorization.k8s.io", "rolebindings", "create"),
        ("rbac.authorization.k8s.io", "rolebindings", "patch"),
        ("authorization.k8s.io", "selfsubjectaccessreviews", "create"),
    ];
    let own_namespace = [
        ("coordination.k8s.io", "leases", "get"),
        ("coordination.k8s.io", "leases", "create"),
        ("coordination.k8s.io", "leases", "update"),
    ];
    let tenant = [
        ("", "namespaces", "delete"),
        ("", "resourcequotas", "patch"),
        ("", "limitranges", "patch"),
        ("networking.k8s.io", "networkpolicies", "patch"),
        ("rbac.authorization.k8s.io", "rolebindings", "delete"),
        ("helm.toolkit.fluxcd.io", "helmreleases", "patch"),
        ("helm.toolkit.fluxcd.io", "helmreleases", "list"),
        ("helm.toolkit.fluxcd.io", "helmreleases", "watch"),
        ("helm.toolkit.fluxcd.io", "helmreleases", "delete"),
        ("source.toolkit.fluxcd.io", "helmrepositories", "patch"),
        ("source.toolkit.fluxcd.io", "ocirepositories", "delete"),
        // helm itself: release storage (the resync lists it too) and the demo chart's objects.
        ("", "secrets", "list"),
        ("", "secrets", "create"),
        ("apps", "deployments", "patch"),
        ("", "services", "create"),
        ("", "configmaps", "create"),
    ];
    for (part, used) in
        [("clusterRole", &standing[..]), ("role", &own_namespace[..]), ("tenantRole", &tenant[..])]
    {
        let rules = rules(part);
        for (group, resource, verb) in used {
            assert!(allows(&rules, group, resource, verb), "{verb} {resource}.{group} is not in {part}");
        }
    }
}

#[test]
fn the_standing_rights_hold_nothing_a_tenants_objects_need() {
    let standing = rules("clusterRole");
    for resource in
        ["secrets", "configmaps", "services", "pods", "deployments", "resourcequotas", "networkpolicies"]
    {
        for verb in ["get", "list", "create", "patch", "delete"] {
            for group in ["", "apps", "networking.k8s.io"] {
                assert!(!allows(&standing, group, resource, verb), "{verb} {resource} is standing");
            }
        }
    }
    assert!(!allows(&standing, "", "namespaces", "delete"), "no namespace can be deleted cluster-wide");
}
