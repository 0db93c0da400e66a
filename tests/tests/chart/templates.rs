//! The manifests: YAML once stripped, hardened pods with health probes, secrets referenced only.

use regex::Regex;
use serde_yaml::Value;

use crate::files::{manifest_templates, stripped_documents, templates, values};

/// Every Deployment of the chart, with the template it comes from.
fn deployments() -> Vec<(String, Value)> {
    manifest_templates()
        .into_iter()
        .flat_map(|(name, text)| {
            stripped_documents(&name, &text).into_iter().map(move |doc| (name.clone(), doc))
        })
        .filter(|(_, doc)| doc["kind"] == "Deployment")
        .collect()
}

#[test]
fn every_template_is_yaml_once_its_actions_are_stripped() {
    let mut kinds = Vec::new();
    for (name, text) in manifest_templates() {
        for doc in stripped_documents(&name, &text) {
            kinds.push(
                doc["kind"].as_str().unwrap_or_else(|| panic!("{name}: a document without kind")).to_owned(),
            );
        }
    }
    for kind in
        ["Deployment", "Service", "ServiceAccount", "ClusterRole", "Role", "ConfigMap", "ServiceMonitor"]
    {
        assert!(kinds.iter().any(|k| k == kind), "the chart has a {kind} (kinds: {kinds:?})");
    }
}

#[test]
fn every_service_has_a_deployment() {
    let mut commands: Vec<String> = deployments()
        .iter()
        .map(|(_, d)| {
            d["spec"]["template"]["spec"]["containers"][0]["command"][0].as_str().unwrap().to_owned()
        })
        .collect();
    commands.sort();
    assert_eq!(
        commands,
        [
            "/usr/local/bin/consumer",
            "/usr/local/bin/dbwriter",
            "/usr/local/bin/k8s-event-exporter",
            "/usr/local/bin/producer",
            "/usr/local/bin/provisioner"
        ]
    );
}

#[test]
fn every_pod_runs_non_root_read_only_without_capabilities_under_runtime_default_seccomp() {
    for (name, d) in deployments() {
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}: pod runAsNonRoot");
        assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault", "{name}: pod seccomp");
        let containers = pod["containers"].as_sequence().expect("containers");
        assert!(!containers.is_empty());
        for c in containers {
            let sc = &c["securityContext"];
            assert_eq!(sc["runAsNonRoot"], true, "{name}: container runAsNonRoot");
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}: read-only root filesystem");
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}: no privilege escalation");
            let dropped: Vec<&str> = sc["capabilities"]["drop"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .collect();
            assert_eq!(dropped, ["ALL"], "{name}: every capability dropped");
            assert!(sc["capabilities"]["add"].is_null(), "{name}: no capability added");
            assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{name}: container seccomp");
        }
    }
}

#[test]
fn every_container_is_probed_on_healthz_and_readyz_of_its_http_port() {
    for (name, d) in deployments() {
        for c in d["spec"]["template"]["spec"]["containers"].as_sequence().unwrap() {
            assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz", "{name}: liveness on /healthz");
            assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz", "{name}: readiness on /readyz");
            assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http", "{name}");
            let ports = c["ports"].as_sequence().expect("a container port");
            assert!(ports.iter().any(|p| p["name"] == "http"), "{name}: the probes' port is declared");
            let env = c["env"].as_sequence().expect("env");
            assert!(
                env.iter().any(|e| e["name"] == "HTTP_ADDR"),
                "{name}: HTTP_ADDR matches the declared port"
            );
        }
    }
}

#[test]
fn secrets_are_referenced_from_secret_objects_never_inlined() {
    let all: String = templates().into_iter().map(|(_, t)| t).collect::<Vec<_>>().join("\n");
    assert!(!Regex::new(r"(?m)^kind:\s*Secret\b").unwrap().is_match(&all), "the chart creates no Secret");
    let named =
        Regex::new(r"name: (AMQP_URL|DATABASE_URL|PRODUCER_API_TOKENS|PRODUCER_BASIC_AUTH)\b").unwrap();
    let referenced = Regex::new(
        r"name: (AMQP_URL|DATABASE_URL|PRODUCER_API_TOKENS|PRODUCER_BASIC_AUTH)\n\s*valueFrom:\n\s*secretKeyRef:",
    )
    .unwrap();
    let uses = named.find_iter(&all).count();
    assert!(uses >= 4, "the credentials are passed to the services ({uses})");
    assert_eq!(referenced.find_iter(&all).count(), uses, "every credential comes from a secretKeyRef");

    // And values.yaml holds no credential to inline: no password, token or URL with a user.
    let text = serde_yaml::to_string(&values()).unwrap();
    let credential = Regex::new(r"(?i)(password|token|passwd)\s*:\s*\S|://[^/\s:@]+:[^/\s@]+@").unwrap();
    assert!(!credential.is_match(&text), "values.yaml holds a credential:\n{text}");
}

#[test]
fn the_dashboards_ship_as_configmaps_with_the_grafana_sidecar_label() {
    let labels = &values()["dashboards"]["labels"];
    assert_eq!(labels["grafana_dashboard"], "1");
    let (_, template) =
        templates().into_iter().find(|(n, _)| n == "dashboards.yaml").expect("dashboards.yaml");
    assert!(template.contains(r#".Files.Glob "dashboards/*.json""#), "every dashboard file is shipped");
    assert!(template.contains("toYaml $.Values.dashboards.labels"), "with the sidecar label");
}
