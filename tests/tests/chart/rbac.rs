//! Least-privilege RBAC: no wildcard anywhere, in the templates or the included rule files.

use serde_yaml::Value;

use crate::files::{chart_dir, manifest_templates, read, stripped_documents};

/// Every PolicyRule found anywhere in a YAML value (lists of rules, `rules:` keys, nested).
fn collect_rules(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Mapping(m) => {
            if m.contains_key("verbs") {
                out.push(value.clone());
            }
            m.values().for_each(|v| collect_rules(v, out));
        }
        Value::Sequence(s) => s.iter().for_each(|v| collect_rules(v, out)),
        _ => {}
    }
}

fn wildcards(rule: &Value) -> Vec<String> {
    ["verbs", "resources", "apiGroups", "nonResourceURLs", "resourceNames"]
        .iter()
        .flat_map(|field| {
            rule[*field]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .filter(|s| s.contains('*'))
                .map(move |s| format!("{field}: {s}"))
        })
        .collect()
}

#[test]
fn no_rbac_rule_uses_a_wildcard_in_the_chart_or_its_rule_files() {
    let mut rules = Vec::new();
    let files_dir = chart_dir().join("files");
    for entry in std::fs::read_dir(&files_dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let value: Value = serde_yaml::from_str(&read(&path))
                .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
            collect_rules(&value, &mut rules);
        }
    }
    for (name, text) in manifest_templates() {
        for doc in stripped_documents(&name, &text) {
            collect_rules(&doc, &mut rules);
        }
    }
    assert!(rules.len() >= 5, "the provisioner's and exporter's rules are found ({} rules)", rules.len());
    let bad: Vec<String> = rules.iter().flat_map(wildcards).collect();
    assert!(bad.is_empty(), "wildcards in RBAC rules: {bad:?}");
}

#[test]
fn the_wildcard_check_catches_a_star_verb_and_a_star_resource() {
    let rule: Value = serde_yaml::from_str("{apiGroups: [''], resources: ['*'], verbs: [get, '*']}").unwrap();
    assert_eq!(wildcards(&rule), ["verbs: *", "resources: *"]);
}

#[test]
fn the_cluster_roles_take_their_rules_from_the_services_rule_files() {
    let templates = manifest_templates();
    let find = |n: &str| templates.iter().find(|(name, _)| name == n).map(|(_, t)| t.clone()).unwrap();
    // Each service's file has clusterRole.rules and role.rules; the provisioner's also
    // tenantRole.rules (the role it binds in each tenant namespace).
    let provisioner = find("provisioner-rbac.yaml");
    assert!(provisioner.contains(r#".Files.Get "files/provisioner-rbac.yaml" | fromYaml"#));
    for part in ["$rbac.clusterRole.rules", "$rbac.role.rules", "$rbac.tenantRole.rules"] {
        assert!(provisioner.contains(part), "{part}");
    }
    let exporter = find("k8s-event-exporter-rbac.yaml");
    assert!(exporter.contains(r#".Files.Get "files/k8s-event-exporter-rbac.yaml" | fromYaml"#));
    assert!(exporter.contains("$rbac.clusterRole.rules") && exporter.contains("$rbac.role.rules"));
    let provisioner: Value =
        serde_yaml::from_str(&read(&chart_dir().join("files/provisioner-rbac.yaml"))).unwrap();
    for part in ["clusterRole", "role", "tenantRole"] {
        assert!(provisioner[part]["rules"].is_sequence(), "provisioner-rbac.yaml {part}.rules");
    }
    let exporter: Value =
        serde_yaml::from_str(&read(&chart_dir().join("files/k8s-event-exporter-rbac.yaml"))).unwrap();
    assert!(exporter["clusterRole"]["rules"].is_sequence() && exporter["role"]["rules"].is_sequence());
}
