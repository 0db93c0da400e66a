//! The provisioner's RBAC (helm/eda/files/provisioner-rbac.yaml): no wildcard, and every
//! call the code makes in these tests is allowed by it.

use std::path::PathBuf;

use eda_tests::kube_api::RecordedRequest;
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

/// `(group, resource, verbs)` of a request: an apply (PATCH) may create, so it needs both.
fn needs(request: &RecordedRequest) -> (String, String, Vec<&'static str>) {
    let parts: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", _version, rest @ ..] => (String::new(), rest.to_vec()),
        ["apis", group, _version, rest @ ..] => (group.to_string(), rest.to_vec()),
        _ => panic!("not a resource path: {}", request.path),
    };
    let (resource, named) = match rest.as_slice() {
        ["namespaces", _ns, resource, _name, ..] => (resource.to_string(), true),
        ["namespaces", _ns, resource] => (resource.to_string(), false),
        ["namespaces", _name] => ("namespaces".to_string(), true),
        [resource] => (resource.to_string(), false),
        other => panic!("unexpected path shape {other:?}"),
    };
    let verbs = match (request.method.as_str(), named) {
        ("GET", _) if request.is_watch() => vec!["watch"],
        ("GET", true) => vec!["get"],
        ("GET", false) => vec!["list"],
        ("PATCH", _) => vec!["patch", "create"],
        ("POST", _) => vec!["create"],
        ("PUT", _) => vec!["update"],
        ("DELETE", _) => vec!["delete"],
        (m, _) => panic!("unexpected method {m}"),
    };
    (group, resource, verbs)
}

/// Panics naming the first request the RBAC rules would forbid.
pub fn assert_rbac_covers(requests: &[RecordedRequest]) {
    let rules = rules();
    assert!(!requests.is_empty(), "no request to check");
    for request in requests {
        let (group, resource, verbs) = needs(request);
        for verb in verbs {
            assert!(
                allows(&rules, &group, &resource, verb),
                "{} needs {verb} on {resource}.{group}, which {} does not grant",
                request.method_and_path(),
                rbac_path().display()
            );
        }
    }
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
