//! The real helm 4 on both charts: `helm lint --strict`, `helm template` whose output parses
//! and holds what the chart promises, and the values schema enforced. No cluster is needed,
//! only the helm binary (`scripts/kube/build.sh` caches it; `EDA_HELM` points elsewhere).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use eda_tests::control_plane::ControlPlane;
use serde_json::{json, Value};

use crate::files::{chart_dir, read};

/// The values under which every template of helm/eda renders (the cluster tests use them too).
pub fn every_template_values() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/chart/every-template.values.yaml")
}

fn demo_chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../helm/demo-product")
}

fn helm(args: &[&str]) -> Output {
    let helm = ControlPlane::default_helm();
    assert!(helm.exists(), "the real helm is not at {}; run scripts/kube/build.sh", helm.display());
    Command::new(&helm).args(args).output().unwrap_or_else(|e| panic!("run {}: {e}", helm.display()))
}

fn succeeded(what: &str, out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed: {stderr}");
    String::from_utf8(out.stdout.clone()).expect("helm prints UTF-8")
}

/// Every document of a multi-document YAML stream, as JSON (empty documents dropped).
pub fn documents(yaml: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("rendered YAML does not parse: {e}")))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// `helm template <release> helm/eda --namespace <namespace> <args…>`, parsed.
fn render(release: &str, namespace: &str, args: &[&str]) -> Vec<Value> {
    let chart = chart_dir().display().to_string();
    let mut all = vec!["template", release, chart.as_str(), "--namespace", namespace];
    all.extend_from_slice(args);
    documents(&succeeded("helm template", &helm(&all)))
}

fn kinds(docs: &[Value]) -> Vec<(String, String)> {
    let mut kinds: Vec<(String, String)> = docs
        .iter()
        .map(|d| (d["kind"].as_str().unwrap().to_owned(), d["metadata"]["name"].as_str().unwrap().to_owned()))
        .collect();
    kinds.sort();
    kinds
}

fn count(docs: &[Value], kind: &str) -> usize {
    docs.iter().filter(|d| d["kind"] == kind).count()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} among {:?}", kinds(docs)))
}

fn yaml_file(path: &Path) -> Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn helm_lint_strict_passes_for_both_charts_and_the_every_template_values() {
    let eda = chart_dir().display().to_string();
    let values = every_template_values().display().to_string();
    let demo = demo_chart().display().to_string();
    for args in [
        vec!["lint", "--strict", eda.as_str()],
        vec!["lint", "--strict", eda.as_str(), "-f", values.as_str()],
        vec!["lint", "--strict", demo.as_str()],
    ] {
        let out = succeeded(&format!("helm {}", args.join(" ")), &helm(&args));
        assert!(out.contains("1 chart(s) linted, 0 chart(s) failed"), "helm {}: {out}", args.join(" "));
    }
}

#[test]
fn helm_template_renders_the_suite_with_default_values_as_manifests_named_after_the_release() {
    let docs = render("chart-test", "chart-test-ns", &[]);
    for doc in &docs {
        assert!(doc["apiVersion"].is_string() && doc["kind"].is_string(), "{doc:#}");
        let name = doc["metadata"]["name"].as_str().unwrap_or_else(|| panic!("a name: {doc:#}"));
        // Cluster-scoped objects too: two releases never share a name.
        assert!(name.starts_with("chart-test-"), "{name} is not named after the release");
    }
    for (kind, n) in [
        ("Deployment", 4),
        ("Service", 4),
        ("ServiceAccount", 4),
        ("ConfigMap", 3),
        // The services' two, and the tenant roles the provisioner binds in tenant namespaces.
        ("ClusterRole", 4),
        ("ClusterRoleBinding", 2),
        ("Role", 2),
        ("RoleBinding", 2),
        ("Ingress", 0),
        ("ServiceMonitor", 0),
    ] {
        assert_eq!(count(&docs, kind), n, "{kind}s in {:?}", kinds(&docs));
    }
    for binding in docs.iter().filter(|d| d["kind"] == "ClusterRoleBinding") {
        assert_eq!(binding["subjects"][0]["kind"], "ServiceAccount");
        assert_eq!(binding["subjects"][0]["namespace"], "chart-test-ns", "bound in the release namespace");
    }
}

#[test]
fn every_template_renders_with_the_every_template_values() {
    let values = every_template_values().display().to_string();
    let docs = render("chart-test", "chart-test-ns", &["-f", &values]);
    for (kind, n) in [("Deployment", 6), ("Service", 6), ("ConfigMap", 4), ("Ingress", 1)] {
        assert_eq!(count(&docs, kind), n, "{kind}s in {:?}", kinds(&docs));
    }
    let catalog = find(&docs, "ConfigMap", "chart-test-catalog");
    let parsed: Value = serde_yaml::from_str(catalog["data"]["catalog.yaml"].as_str().unwrap()).unwrap();
    assert_eq!(parsed["products"]["product-a"]["chart"]["path"], "helm/demo-product");
    let ingress = find(&docs, "Ingress", "chart-test-producer");
    assert_eq!(ingress["spec"]["ingressClassName"], "nginx");
    assert_eq!(ingress["spec"]["tls"][0]["secretName"], "eda-tls");
    let billing = find(&docs, "Deployment", "chart-test-consumer-billing");
    assert_eq!(billing["spec"]["replicas"], 2);
    let exporter = find(&docs, "Deployment", "chart-test-k8s-event-exporter");
    let env = &exporter["spec"]["template"]["spec"]["containers"][0]["env"];
    let election = env.as_array().unwrap().iter().find(|e| e["name"] == "EXPORTER_LEADER_ELECTION").unwrap();
    assert_eq!(election["value"], "true", "two replicas elect a leader");
    for deployment in docs.iter().filter(|d| d["kind"] == "Deployment") {
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["nodeSelector"], json!({"kubernetes.io/os": "linux"}), "{}", deployment["metadata"]);
        assert_eq!(pod["imagePullSecrets"], json!([{"name": "eda-registry"}]));
        assert!(pod["tolerations"].is_array() && pod["affinity"]["nodeAffinity"].is_object());
    }
    // Server-side apply (helm 4's default) keys Service ports by port and protocol; a 1.20 API
    // server rejects a port without one (tests/tests/chart_on_cluster installs the chart).
    for service in docs.iter().filter(|d| d["kind"] == "Service") {
        for port in service["spec"]["ports"].as_array().unwrap() {
            assert_eq!(port["protocol"], "TCP", "{}: {port}", service["metadata"]["name"]);
        }
    }
    let monitored =
        render("chart-test", "chart-test-ns", &["-f", &values, "--set", "serviceMonitor.enabled=true"]);
    let monitor = find(&monitored, "ServiceMonitor", "chart-test");
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
}

#[test]
fn the_rendered_roles_hold_exactly_the_rules_of_the_services_rule_files() {
    let docs = render("chart-test", "chart-test-ns", &[]);
    let provisioner = yaml_file(&chart_dir().join("files/provisioner-rbac.yaml"));
    let exporter = yaml_file(&chart_dir().join("files/k8s-event-exporter-rbac.yaml"));
    // The standing rules, plus `bind` on the tenant role by name and nothing else.
    let mut standing = provisioner["clusterRole"]["rules"].as_array().unwrap().clone();
    standing
        .push(serde_json::json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
        "verbs": ["bind"], "resourceNames": ["chart-test-tenant-deployer", "chart-test-tenant-reader"]}));
    assert_eq!(find(&docs, "ClusterRole", "chart-test-provisioner")["rules"], Value::Array(standing));
    assert_eq!(find(&docs, "Role", "chart-test-provisioner")["rules"], provisioner["role"]["rules"]);
    assert_eq!(
        find(&docs, "ClusterRole", "chart-test-tenant-deployer")["rules"],
        provisioner["tenantRole"]["rules"]
    );
    assert_eq!(
        find(&docs, "ClusterRole", "chart-test-k8s-event-exporter")["rules"],
        exporter["clusterRole"]["rules"]
    );
    assert_eq!(find(&docs, "Role", "chart-test-k8s-event-exporter")["rules"], exporter["role"]["rules"]);
    for (kind, name) in [
        ("ClusterRoleBinding", "chart-test-provisioner"),
        ("RoleBinding", "chart-test-provisioner"),
        ("ClusterRoleBinding", "chart-test-k8s-event-exporter"),
        ("RoleBinding", "chart-test-k8s-event-exporter"),
    ] {
        let binding = find(&docs, kind, name);
        assert_eq!(binding["roleRef"]["name"], name);
        assert_eq!(binding["subjects"][0]["name"], name, "bound to the ServiceAccount of the same name");
        find(&docs, "ServiceAccount", name);
    }
}

#[test]
fn helm_refuses_values_the_schema_rejects() {
    let chart = chart_dir().display().to_string();
    for (set, complaint) in [("queueType=lazy", "/queueType"), ("producer.replica=2", "replica")] {
        let out = helm(&["template", "chart-test", &chart, "--set", set]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--set {set} was accepted");
        assert!(stderr.contains("schema") && stderr.contains(complaint), "--set {set}: {stderr}");
    }
}

#[test]
fn the_demo_product_renders_with_the_values_the_provisioner_sets() {
    let trace = "9a2ae9de-3f82-4f55-966b-47df50ff51ff";
    let chart = demo_chart().display().to_string();
    let (annotation, client, label) = (
        format!("podAnnotations.trace_id={trace}"),
        "podAnnotations.client=c1",
        format!("podLabels.trace_id={trace}"),
    );
    let out = helm(&[
        "template",
        "product-a",
        &chart,
        "--namespace",
        "c1",
        "--set-string",
        &annotation,
        "--set-string",
        client,
        "--set-string",
        &label,
    ]);
    let docs = documents(&succeeded("helm template demo-product", &out));
    assert_eq!(
        kinds(&docs),
        [("ConfigMap", "product-a"), ("Deployment", "product-a"), ("Service", "product-a")]
            .map(|(k, n)| (k.to_owned(), n.to_owned()))
    );
    let deployment = find(&docs, "Deployment", "product-a");
    let template = &deployment["spec"]["template"]["metadata"];
    assert_eq!(template["annotations"]["trace_id"], trace);
    assert_eq!(template["annotations"]["client"], "c1");
    assert_eq!(template["labels"]["trace_id"], trace);
    assert!(
        deployment["spec"]["selector"]["matchLabels"].get("trace_id").is_none(),
        "the trace id is not part of the (immutable) selector"
    );
}

#[test]
fn the_rolebinding_admission_policy_is_off_by_default_and_pins_the_provisioner_to_eda_namespaces() {
    let kinds_of = |docs: &[Value]| -> Vec<String> {
        docs.iter()
            .filter_map(|d| d["kind"].as_str())
            .filter(|k| k.starts_with("ValidatingAdmission"))
            .map(str::to_owned)
            .collect()
    };
    assert!(
        kinds_of(&render("chart-test", "chart-test-ns", &[])).is_empty(),
        "off by default: 1.20 has no such API"
    );
    let docs = render("chart-test", "chart-test-ns", &["--set", "provisioner.admissionPolicy.enabled=true"]);
    assert_eq!(kinds_of(&docs), ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]);
    let policy = find(&docs, "ValidatingAdmissionPolicy", "chart-test-provisioner-rolebindings");
    assert_eq!(policy["apiVersion"], "admissionregistration.k8s.io/v1");
    assert_eq!(policy["spec"]["matchConstraints"]["resourceRules"][0]["resources"][0], "rolebindings");
    assert_eq!(
        policy["spec"]["matchConditions"][0]["expression"],
        "request.userInfo.username == 'system:serviceaccount:chart-test-ns:chart-test-provisioner'"
    );
    let rules: Vec<&str> = policy["spec"]["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["expression"].as_str().unwrap())
        .collect();
    assert!(
        rules[0].contains("'app.kubernetes.io/managed-by'") && rules[0].contains("'eda-provisioner'"),
        "{rules:?}"
    );
    assert!(rules[1].contains("'chart-test-tenant-deployer', 'chart-test-tenant-reader'"), "{rules:?}");
    let binding = find(&docs, "ValidatingAdmissionPolicyBinding", "chart-test-provisioner-rolebindings");
    assert_eq!(binding["spec"]["policyName"], "chart-test-provisioner-rolebindings");
    assert_eq!(binding["spec"]["validationActions"][0], "Deny");
}

#[test]
fn the_prometheus_rule_is_off_by_default_and_holds_exactly_the_rule_file() {
    let count_rules = |docs: &[Value]| docs.iter().filter(|d| d["kind"] == "PrometheusRule").count();
    assert_eq!(count_rules(&render("chart-test", "chart-test-ns", &[])), 0);
    let docs = render(
        "chart-test",
        "chart-test-ns",
        &["--set", "prometheusRule.enabled=true", "--set", "prometheusRule.labels.release=prometheus"],
    );
    let rule = find(&docs, "PrometheusRule", "chart-test");
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(rule["metadata"]["namespace"], "chart-test-ns");
    assert_eq!(rule["metadata"]["labels"]["release"], "prometheus", "the ruleSelector's label");
    let file = yaml_file(&chart_dir().join("files/prometheus-rules.yaml"));
    assert_eq!(rule["spec"], file, "the rules promtool checks are the rules installed");
    // Prometheus' own templates survive helm untouched.
    let summary = rule["spec"]["groups"][0]["rules"][0]["annotations"]["summary"].as_str().unwrap();
    assert!(summary.contains("{{ $labels.service }}"), "{summary}");
    let monitored = render("chart-test", "chart-test-ns", &["--set", "serviceMonitor.enabled=true"]);
    assert_eq!(find(&monitored, "ServiceMonitor", "chart-test")["spec"]["endpoints"][0]["honorLabels"], true);
}

/// Every optional block the test control plane cannot install (it has neither the Prometheus
/// Operator's nor the messaging-topology operator's CRDs), for the static checks.
const OPERATOR_KINDS: [&str; 6] = [
    "--set",
    "prometheusRule.enabled=true",
    "--set",
    "brokerPolicies.enabled=true",
    "--set",
    "brokerPolicies.rabbitmqCluster.name=rabbitmq",
];

#[test]
fn the_broker_policies_are_off_by_default_and_are_the_documented_ones_for_the_prefix() {
    use eda_common::topology::policy::{events_policy, parking_lot_policy, service_queues_policy, Policy};
    let policies =
        |docs: &[Value]| -> Vec<Value> { docs.iter().filter(|d| d["kind"] == "Policy").cloned().collect() };
    assert!(policies(&render("chart-test", "chart-test-ns", &[])).is_empty(), "off by default");
    let enabled = [
        "--set",
        "brokerPolicies.enabled=true",
        "--set",
        "brokerPolicies.rabbitmqCluster.name=rabbitmq",
        "--set",
        "brokerPolicies.rabbitmqCluster.namespace=rabbitmq-system",
        "--set",
        "prefix=team.eda",
    ];
    let docs = render("chart-test", "chart-test-ns", &enabled);
    let found = policies(&docs);
    let expected: Vec<Policy> = vec![
        events_policy("team.eda"),
        parking_lot_policy("team.eda"),
        service_queues_policy("team.eda", &["dbwriter", "provisioner"]),
    ];
    assert_eq!(found.len(), expected.len());
    for (doc, policy) in found.iter().zip(&expected) {
        assert_eq!(doc["apiVersion"], "rabbitmq.com/v1beta1");
        assert_eq!(doc["metadata"]["namespace"], "chart-test-ns");
        let spec = &doc["spec"];
        assert_eq!(spec["name"], policy.name.as_str(), "the name `consumer topology check` names");
        assert_eq!(spec["pattern"], policy.pattern.as_str(), "{}", policy.name);
        assert_eq!(spec["applyTo"], policy.apply_to);
        assert_eq!(spec["priority"], policy.priority);
        assert_eq!(spec["definition"], policy.definition, "{}", policy.name);
        assert_eq!(spec["vhost"], "/");
        assert_eq!(
            spec["rabbitmqClusterReference"],
            serde_json::json!({"name": "rabbitmq", "namespace": "rabbitmq-system"})
        );
    }
    // RabbitMQ 3.x rejects -1: the parking lot's policy can be left out there.
    let three = render(
        "chart-test",
        "chart-test-ns",
        &[&enabled[..], &["--set", "brokerPolicies.parkingLot.noDeliveryLimit=false"]].concat(),
    );
    let names: Vec<Value> = policies(&three).iter().map(|p| p["spec"]["name"].clone()).collect();
    assert_eq!(names, ["team.eda-events", "team.eda-service-queues"]);
    // Without a cluster to go to, helm says which value is missing.
    let out =
        helm(&["template", "x", &chart_dir().display().to_string(), "--set", "brokerPolicies.enabled=true"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("brokerPolicies.rabbitmqCluster.name"));
}

#[test]
fn every_namespaced_object_names_its_namespace() {
    // `kubectl apply -f` of the rendered chart (GitOps tools do that) must not land objects in
    // whatever namespace the applier's context points at.
    let values = every_template_values().display().to_string();
    let docs =
        render("chart-test", "chart-test-ns", &[&["-f", values.as_str()][..], &OPERATOR_KINDS[..]].concat());
    let cluster_scoped = [
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ];
    let mut seen = 0;
    for doc in docs.iter().filter(|d| !cluster_scoped.contains(&d["kind"].as_str().unwrap_or_default())) {
        let namespace = &doc["metadata"]["namespace"];
        assert_eq!(
            namespace, "chart-test-ns",
            "{} {} has no namespace",
            doc["kind"], doc["metadata"]["name"]
        );
        seen += 1;
    }
    assert!(seen > 20, "{seen} namespaced objects");
}

#[test]
fn each_pod_of_the_suite_has_a_network_policy_that_opens_only_its_port_and_what_it_talks_to() {
    let values = every_template_values().display().to_string();
    let docs = render("chart-test", "chart-test-ns", &["-f", &values]);
    let policies: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "NetworkPolicy").collect();
    let ports = |rules: &Value| -> Vec<(i64, String)> {
        let mut found: Vec<(i64, String)> = rules
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["ports"].as_array().unwrap().iter())
            .map(|p| (p["port"].as_i64().unwrap(), p["protocol"].as_str().unwrap().to_owned()))
            .collect();
        found.sort();
        found
    };
    let tcp = |list: &[i64]| -> Vec<(i64, String)> { list.iter().map(|p| (*p, "TCP".to_owned())).collect() };
    let deployments: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Deployment").collect();
    assert!(deployments.len() >= 6, "every service and the engines");
    for deployment in deployments {
        let labels = &deployment["spec"]["template"]["metadata"]["labels"];
        let component = labels["app.kubernetes.io/component"].as_str().unwrap();
        let selecting: Vec<&&Value> = policies
            .iter()
            .filter(|p| {
                let wanted = p["spec"]["podSelector"]["matchLabels"].as_object().unwrap();
                wanted.iter().all(|(k, v)| labels[k] == *v)
            })
            .collect();
        assert_eq!(selecting.len(), 1, "{component}: one policy selects its pods");
        let spec = &selecting[0]["spec"];
        assert_eq!(spec["policyTypes"], serde_json::json!(["Ingress", "Egress"]), "{component}");
        let container_port = deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]
            ["containerPort"]
            .as_i64()
            .unwrap();
        assert_eq!(ports(&spec["ingress"]), tcp(&[container_port]), "{component}: only the port it serves");
        let mut expected = vec![(53, "TCP".to_owned()), (53, "UDP".to_owned())];
        expected.extend(tcp(match component {
            // With OpenID Connect sign-in configured (the fixture's values): the provider's HTTPS.
            "producer" => &[443, 5671, 5672],
            "dbwriter" => &[5432, 5671, 5672],
            // With tenant databases configured (the fixture's values): PostgreSQL too.
            "provisioner" => &[443, 443, 5432, 5671, 5672, 6443],
            "k8s-event-exporter" => &[443, 5671, 5672, 6443],
            engine if engine.starts_with("consumer-") => &[443, 5671, 5672],
            other => panic!("no egress expected for {other}"),
        }));
        expected.sort();
        assert_eq!(ports(&spec["egress"]), expected, "{component}: DNS and what it talks to, nothing else");
    }
    let off = render("chart-test", "chart-test-ns", &["-f", &values, "--set", "networkPolicy.enabled=false"]);
    assert!(off.iter().all(|d| d["kind"] != "NetworkPolicy"));
}

fn kubernetes_validate() -> PathBuf {
    eda_tests::tools::python_tool("venv", "kubernetes-validate")
}

#[test]
fn every_rendered_object_validates_strictly_against_the_kubernetes_schemas_of_1_27_and_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let values = every_template_values().display().to_string();
    let chart = chart_dir().display().to_string();
    // Everything the chart can render, the 1.30+ admission policy included.
    let sets = [&["--set", "provisioner.admissionPolicy.enabled=true"][..], &OPERATOR_KINDS[..]].concat();
    let out = helm(
        &[&["template", "chart-test", &chart, "--namespace", "chart-test-ns", "-f", &values][..], &sets[..]]
            .concat(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rendered = dir.path().join("rendered.yaml");
    std::fs::write(&rendered, &out.stdout).unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {portz: []}\n").unwrap();
    let validate = |version: &str, file: &Path| {
        let out = Command::new(kubernetes_validate())
            .args(["--strict", "--quiet", "--no-warn", "-k", version])
            .arg(file)
            .output()
            .expect("kubernetes-validate runs (scripts/test-tools.d/kubernetes-validate.sh installs it)");
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    // The validator would say so: an unknown field fails.
    let (ok, said) = validate("1.27.0", &bad);
    assert!(!ok && said.contains("'portz' was unexpected"), "{said}");
    // The chart's floor (Chart.yaml kubeVersion) and the newest the validator knows. (The
    // Prometheus Operator's and the messaging-topology operator's kinds have no bundled schema:
    // they are checked by the tests above.)
    for version in ["1.27.0", "1.37.0"] {
        let (ok, said) = validate(version, &rendered);
        assert!(ok, "against Kubernetes {version}: {said}");
    }
}

#[test]
fn checkov_finds_nothing_on_the_rendered_chart_but_the_accepted_findings() {
    let dir = tempfile::tempdir().unwrap();
    let values = every_template_values().display().to_string();
    let chart = chart_dir().display().to_string();
    let args = [
        &["template", "chart-test", &chart, "--namespace", "chart-test-ns", "-f", &values][..],
        &OPERATOR_KINDS[..],
    ];
    let out = helm(&args.concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rendered = dir.path().join("rendered.yaml");
    std::fs::write(&rendered, &out.stdout).unwrap();
    let run = Command::new(eda_tests::tools::python_tool("checkov", "checkov"))
        .args(["--framework", "kubernetes", "--quiet", "--compact", "-o", "json", "-f"])
        .arg(&rendered)
        .output()
        .expect("checkov runs (scripts/test-tools.d/checkov.sh installs it)");
    let report: Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("checkov's JSON: {e}: {}", String::from_utf8_lossy(&run.stderr)));
    let report = if report.is_array() { report[0].clone() } else { report };
    assert!(
        report["summary"]["passed"].as_u64().unwrap() > 100,
        "checkov checked the chart: {:#}",
        report["summary"]
    );
    let accepted = yaml_file(&chart_dir().join("../../tests/fixtures/chart/checkov-accepted.yaml"));
    let mut occurring = std::collections::BTreeSet::new();
    for failed in report["results"]["failed_checks"].as_array().unwrap() {
        let (id, resource) = (failed["check_id"].as_str().unwrap(), failed["resource"].as_str().unwrap());
        let entry = &accepted[id];
        assert!(entry.is_object(), "checkov: {id} {} on {resource} is not accepted", failed["check_name"]);
        if entry["objects"] != "all" {
            let ok = entry["objects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| resource.ends_with(&format!("-{}", o.as_str().unwrap())));
            assert!(ok, "checkov: {id} is accepted only for {}, not {resource}", entry["objects"]);
        }
        occurring.insert(id.to_owned());
    }
    let listed: std::collections::BTreeSet<String> = accepted.as_object().unwrap().keys().cloned().collect();
    assert_eq!(occurring, listed, "an accepted finding no longer occurs: drop it from the list");
}

#[test]
fn oidc_sign_in_renders_the_producers_variables_with_its_secrets_from_a_secret_and_only_when_an_issuer_is_set(
) {
    let env_of = |docs: &[Value]| -> Vec<Value> {
        find(docs, "Deployment", "chart-test-producer")["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .clone()
    };
    let named = |env: &[Value], name: &str| env.iter().find(|e| e["name"] == name).cloned();
    let off = env_of(&render("chart-test", "chart-test-ns", &[]));
    assert!(
        off.iter().all(|e| !e["name"].as_str().unwrap().starts_with("PRODUCER_OIDC_")
            && !e["name"].as_str().unwrap().starts_with("PRODUCER_SESSION_")),
        "no issuer, no sign-in variables: {off:?}"
    );

    let on = [
        "--set",
        "producer.oidc.issuer=https://id.example.com/realms/eda",
        "--set",
        "producer.oidc.clientId=eda-portal",
        "--set",
        "producer.oidc.redirectUrl=https://eda.example.com/auth/callback",
        "--set",
        "producer.oidc.existingSecret=eda-oidc",
        "--set",
        "producer.oidc.rolesClaim=groups",
    ];
    let env = env_of(&render("chart-test", "chart-test-ns", &on));
    let value =
        |name: &str| named(&env, name).unwrap_or_else(|| panic!("{name} missing: {env:?}"))["value"].clone();
    assert_eq!(value("PRODUCER_OIDC_ISSUER"), json!("https://id.example.com/realms/eda"));
    assert_eq!(value("PRODUCER_OIDC_CLIENT_ID"), json!("eda-portal"));
    assert_eq!(value("PRODUCER_OIDC_REDIRECT_URL"), json!("https://eda.example.com/auth/callback"));
    assert_eq!(value("PRODUCER_OIDC_CLIENTS_CLAIM"), json!("eda_clients"));
    assert_eq!(value("PRODUCER_OIDC_ROLES_CLAIM"), json!("groups"));
    assert_eq!(value("PRODUCER_OIDC_OPERATOR_ROLE"), json!("operator"));
    assert_eq!(value("PRODUCER_SESSION_TTL"), json!("8h"));
    assert!(
        named(&env, "PRODUCER_OIDC_AUDIENCE").is_none(),
        "unset audience: the producer's default, the client id"
    );
    // The secrets come from the Secret, never as values; a public client may have no secret.
    let secret = |name: &str| named(&env, name).unwrap()["valueFrom"]["secretKeyRef"].clone();
    assert_eq!(
        secret("PRODUCER_OIDC_CLIENT_SECRET"),
        json!({"name": "eda-oidc", "key": "client-secret", "optional": true})
    );
    assert_eq!(secret("PRODUCER_SESSION_KEY"), json!({"name": "eda-oidc", "key": "session-key"}));

    // An issuer without what sign-in cannot work without is refused, naming the value.
    let chart = chart_dir().display().to_string();
    let out =
        helm(&["template", "chart-test", &chart, "--set", "producer.oidc.issuer=https://id.example.com"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("producer.oidc.clientId is needed with an issuer"));
    // Everything else given, so only the schema can refuse it.
    let mut not_a_url = vec!["template", "chart-test", chart.as_str()];
    not_a_url.extend_from_slice(&on);
    not_a_url.extend_from_slice(&["--set", "producer.oidc.issuer=id.example.com"]);
    let out = helm(&not_a_url);
    assert!(!out.status.success(), "an issuer that is no URL fails the schema");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("issuer") && stderr.contains("schema"), "{stderr}");
}
