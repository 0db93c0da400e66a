//! values.yaml against values.schema.json, and every `.Values` path of the templates.

use regex::Regex;

use crate::files::{chart_dir, read, templates, values};

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&read(&chart_dir().join("values.schema.json")))
        .expect("values.schema.json parses");
    jsonschema::validator_for(&schema).expect("values.schema.json is a valid JSON Schema")
}

fn as_json(yaml: serde_yaml::Value) -> serde_json::Value {
    serde_json::to_value(yaml).expect("values convert to JSON")
}

#[test]
fn values_yaml_validates_against_values_schema_json() {
    let validator = validator();
    let errors: Vec<String> = validator.iter_errors(&as_json(values())).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "values.yaml does not match its schema:\n{}", errors.join("\n"));
}

#[test]
fn the_schema_rejects_a_misspelt_key_and_a_wrong_type() {
    let validator = validator();
    let mut typo = as_json(values());
    typo["provisioner"]["mdoe"] = "plan".into();
    assert!(!validator.is_valid(&typo), "an unknown key is an error, not silently ignored");
    let mut wrong = as_json(values());
    wrong["provisioner"]["mode"] = "yolo".into();
    assert!(!validator.is_valid(&wrong));
    let mut wrong = as_json(values());
    wrong["producer"]["replicas"] = "two".into();
    assert!(!validator.is_valid(&wrong));
    let mut weakened = as_json(values());
    weakened["podSecurityContext"]["runAsNonRoot"] = false.into();
    assert!(!validator.is_valid(&weakened), "the templates fix runAsNonRoot; values cannot override it");
}

#[test]
fn a_full_configuration_with_consumers_and_a_catalog_validates() {
    let mut full = as_json(values());
    full["consumers"] = serde_json::json!([
        { "name": "audit-log", "args": ["log", "--bind", "#"], "replicas": 2 },
        { "name": "billing", "args": ["run", "--name", "billing", "--bind", "*.*.event.*.provisioned",
          "--webhook", "http://billing/hook"], "env": [{ "name": "CONSUMER_EMIT", "value": "billed" }] }
    ]);
    full["provisioner"]["catalog"] =
        serde_json::json!({ "products": { "product-a": { "chart": { "path": "helm/demo-product" } } } });
    full["serviceMonitor"]["enabled"] = true.into();
    full["producer"]["ingress"]["enabled"] = true.into();
    let errors: Vec<String> = validator().iter_errors(&full).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn every_value_a_template_references_exists_in_values_yaml() {
    let values = values();
    let path = Regex::new(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)").unwrap();
    let mut referenced = 0;
    let mut missing = Vec::new();
    for (name, text) in templates() {
        for c in path.captures_iter(&text) {
            referenced += 1;
            let mut node = &values;
            for key in c[1].trim_start_matches('.').split('.') {
                match node.get(key) {
                    Some(next) => node = next,
                    None => {
                        missing.push(format!("{name}: .Values{}", &c[1]));
                        break;
                    }
                }
            }
        }
    }
    assert!(referenced > 50, "the templates are read ({referenced} references)");
    missing.dedup();
    assert!(missing.is_empty(), "values the templates use but values.yaml lacks:\n{}", missing.join("\n"));
}

#[test]
fn chart_yaml_and_notes_are_present_and_chart_yaml_parses() {
    let chart: serde_yaml::Value = serde_yaml::from_str(&read(&chart_dir().join("Chart.yaml"))).unwrap();
    assert_eq!(chart["apiVersion"], "v2");
    assert_eq!(chart["name"], "eda");
    assert!(chart["version"].as_str().is_some());
    let notes = read(&chart_dir().join("templates/NOTES.txt"));
    assert!(notes.contains("create secret generic"), "NOTES.txt tells how to create the referenced Secrets");
}
