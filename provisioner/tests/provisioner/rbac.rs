//! The provisioner's RBAC (helm/eda/files/provisioner-rbac.yaml), read as a file: no wildcard,
//! and the rules the code needs are there. (The real authorizer enforcing it, with the
//! provisioner running under the chart's ServiceAccount: tests/tests/chart_on_cluster.)

use std::path::PathBuf;

use k8s_openapi::api::rbac::v1::PolicyRule;

use crate::helpers::repo_root;

pub fn rbac_path() -> PathBuf {
    repo_root().join("helm/eda/files/provisioner-rbac.yaml")
}

pub fn rules() -> Vec<PolicyRule> {
    let yaml = std::fs::read_to_string(rbac_path()).expect("the RBAC file exists");
    serde_yaml::from_str(&yaml).expect("the RBAC file is a YAML list of PolicyRules")
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
    let rules = rules();
    assert!(!rules.is_empty());
    for rule in &rules {
        let all =
            rule.api_groups.iter().flatten().chain(rule.resources.iter().flatten()).chain(rule.verbs.iter());
        for word in all {
            assert!(!word.contains('*'), "wildcard `{word}` in {rule:?}");
        }
        assert!(rule.non_resource_urls.is_none(), "no non-resource URLs are needed: {rule:?}");
    }
}

#[test]
fn the_rbac_rules_cover_what_the_code_applies_deletes_and_watches() {
    let rules = rules();
    let used = [
        ("eda.io", "tenants", "get"),
        ("eda.io", "tenants", "list"),
        ("eda.io", "tenants", "watch"),
        ("eda.io", "tenants", "create"),
        ("eda.io", "tenants", "update"),
        ("eda.io", "tenants/status", "patch"),
        ("coordination.k8s.io", "leases", "get"),
        ("coordination.k8s.io", "leases", "create"),
        ("coordination.k8s.io", "leases", "update"),
        ("", "secrets", "list"),
        ("", "namespaces", "patch"),
        ("", "namespaces", "create"),
        ("", "namespaces", "delete"),
        ("", "resourcequotas", "patch"),
        ("", "limitranges", "patch"),
        ("networking.k8s.io", "networkpolicies", "patch"),
        ("helm.toolkit.fluxcd.io", "helmreleases", "patch"),
        ("helm.toolkit.fluxcd.io", "helmreleases", "list"),
        ("helm.toolkit.fluxcd.io", "helmreleases", "watch"),
        ("helm.toolkit.fluxcd.io", "helmreleases", "delete"),
        ("source.toolkit.fluxcd.io", "helmrepositories", "patch"),
        ("source.toolkit.fluxcd.io", "ocirepositories", "delete"),
        // helm itself: release storage and the demo chart's objects.
        ("", "secrets", "create"),
        ("apps", "deployments", "patch"),
        ("", "services", "create"),
        ("", "configmaps", "create"),
    ];
    for (group, resource, verb) in used {
        assert!(allows(&rules, group, resource, verb), "{verb} {resource}.{group} is not granted");
    }
}
