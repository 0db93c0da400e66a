//! `helm install` of helm/eda by the real helm 4 (server-side apply) into the real API server:
//! every object accepted, every Deployment's pods admitted, scheduled and available, and
//! `helm uninstall` taking the cluster-scoped RBAC with it.

use std::collections::BTreeSet;

use eda_tests::control_plane::{ControlPlane, NODE};
use serde_json::{json, Value};

use crate::release::{chart_dir, documents, every_template_values, fresh_prefix, succeeded, TestRelease};

/// (kind, name) of each object.
fn identities<'a>(objects: impl IntoIterator<Item = &'a Value>) -> BTreeSet<(String, String)> {
    objects
        .into_iter()
        .map(|o| (o["kind"].as_str().unwrap().to_owned(), o["metadata"]["name"].as_str().unwrap().to_owned()))
        .collect()
}

/// What the cluster holds with the release's instance label, by kubectl.
fn installed(release: &TestRelease, kinds: &str, namespace: Option<&str>) -> Vec<Value> {
    let selector = format!("app.kubernetes.io/instance={}", release.name);
    let mut args = vec!["get", kinds, "-l", selector.as_str(), "-o", "json"];
    if let Some(ns) = namespace {
        args.extend(["-n", ns]);
    }
    let listed: Value =
        serde_json::from_str(&succeeded("kubectl get", &release.cluster.kubectl(&args))).unwrap();
    listed["items"].as_array().unwrap().clone()
}

/// The Secrets the chart references (never holds): dummy URLs, as an operator creates them.
async fn referenced_secrets(cluster: &ControlPlane, namespace: &str) {
    for (name, key, value) in [
        ("eda-amqp", "url", "amqp://eda:not-a-password@rabbitmq:5672/%2f"),
        ("eda-postgres", "url", "postgres://eda:not-a-password@postgresql:5432/eda"),
        ("eda-producer-auth", "api-tokens", "not-a-token"),
    ] {
        cluster
            .create(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": namespace}, "stringData": {key: value}}))
            .await;
    }
}

#[tokio::test]
async fn helm_installs_every_template_of_the_suite_and_uninstalls_it_with_its_cluster_roles() {
    let cluster = ControlPlane::connect().await;
    let release = TestRelease::new(&cluster, &fresh_prefix());
    let (name, ns) = (release.name.as_str(), release.namespace.as_str());
    release.create_namespace().await;
    referenced_secrets(&cluster, ns).await;
    let chart_copy = release.installable_chart();
    let (chart, values) = (chart_copy.display().to_string(), every_template_values().display().to_string());

    // Without --wait: helm returns once the API server has accepted every object.
    let out = cluster.helm(&["install", name, &chart, "--namespace", ns, "-f", &values, "--output", "json"]);
    let installed_release: Value = serde_json::from_str(&succeeded("helm install", &out)).unwrap();
    assert_eq!(installed_release["info"]["status"], "deployed");
    let manifest = documents(installed_release["manifest"].as_str().unwrap());
    let rendered = release.render(&chart_copy, &["-f", &values]);
    assert_eq!(identities(&manifest), identities(&rendered), "helm installed what it renders");
    let kinds: BTreeSet<&str> = manifest.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "ClusterRole",
            "ClusterRoleBinding",
            "ConfigMap",
            "Deployment",
            "Ingress",
            "NetworkPolicy",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount",
        ]),
        "every kind the chart makes (the ServiceMonitor aside)"
    );

    // Everything is there: the namespaced objects and the cluster-scoped RBAC of this release.
    let mut found = installed(
        &release,
        "deployments,services,serviceaccounts,configmaps,roles,rolebindings,ingresses,networkpolicies",
        Some(ns),
    );
    found.extend(installed(&release, "clusterroles,clusterrolebindings", None));
    assert_eq!(identities(&found), identities(&manifest));
    for cluster_scoped in found.iter().filter(|o| o["kind"].as_str().unwrap().starts_with("Cluster")) {
        let object_name = cluster_scoped["metadata"]["name"].as_str().unwrap();
        assert!(object_name.starts_with(&format!("{name}-")), "{object_name} is this release's own");
    }

    // Every pod template is admitted (ServiceAccount, LimitRanger), bound by the real scheduler
    // under the rendered nodeSelector and affinity, and marked ready by the fake kubelet.
    let deployments: Vec<&Value> = manifest.iter().filter(|o| o["kind"] == "Deployment").collect();
    assert_eq!(deployments.len(), 6, "producer, dbwriter, provisioner, exporter and two consumers");
    let mut replicas = 0;
    for deployment in &deployments {
        let deployment_name = deployment["metadata"]["name"].as_str().unwrap();
        let want = deployment["spec"]["replicas"].clone();
        replicas += want.as_u64().unwrap();
        cluster
            .wait_for("deployments", Some(ns), deployment_name, |d| {
                d["status"]["availableReplicas"] == want && d["status"]["updatedReplicas"] == want
            })
            .await;
    }
    let pods = cluster.list("pods", Some(ns), Some(&format!("app.kubernetes.io/instance={name}"))).await;
    let pod_names: Vec<&Value> = pods.iter().map(|p| &p["metadata"]["name"]).collect();
    assert_eq!(pods.len() as u64, replicas, "{pod_names:?}");
    for pod in &pods {
        assert_eq!(pod["spec"]["nodeName"], NODE);
        assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true);
        assert_eq!(pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"], true);
    }

    // The ServiceMonitor is off because this control plane has no Prometheus Operator CRD: on,
    // the real server refuses the release.
    let monitored = format!("{name}-sm");
    let out = cluster.helm(&[
        "install",
        &monitored,
        &chart,
        "--namespace",
        ns,
        "-f",
        &values,
        "--set",
        "serviceMonitor.enabled=true",
        "--dry-run=server",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a ServiceMonitor without its CRD was accepted");
    assert!(stderr.contains("ServiceMonitor") && stderr.contains("monitoring.coreos.com"), "{stderr}");

    // Uninstalled, the release takes its cluster-scoped objects with it.
    succeeded("helm uninstall", &cluster.helm(&["uninstall", name, "--namespace", ns, "--wait"]));
    for (kind, object_name) in identities(&manifest) {
        if kind.starts_with("Cluster") {
            let resource = eda_tests::control_plane::resource_for(&kind);
            cluster.wait_until_gone(resource, None, &object_name).await;
        }
    }
    cluster.delete("namespaces", None, ns).await;
    cluster.wait_until_gone("namespaces", None, ns).await;
}

/// Why the tests install a copy: helm itself (not the API server) refuses the chart on a
/// server older than its `kubeVersion`. On a newer cluster (`EDA_E2E_KUBECONFIG`), it installs.
#[tokio::test]
async fn helm_installs_the_unmodified_chart_only_from_its_kube_version_on() {
    let cluster = ControlPlane::connect().await;
    let release = TestRelease::new(&cluster, &fresh_prefix());
    release.create_namespace().await;
    let chart_yaml = std::fs::read_to_string(chart_dir().join("Chart.yaml")).unwrap();
    let constraint = regex::Regex::new(r#"(?m)^kubeVersion: ">=(\d+)\.(\d+)\.\d+(-0)?"$"#).unwrap();
    let wanted = constraint.captures(&chart_yaml).expect("Chart.yaml's kubeVersion is \">=X.Y.Z[-0]\"");
    let wanted: (u32, u32) = (wanted[1].parse().unwrap(), wanted[2].parse().unwrap());
    let server = cluster.client().apiserver_version().await.expect("the server's version");
    let digits =
        |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>().parse::<u32>().unwrap();
    let server_version = (digits(&server.major), digits(&server.minor));

    let chart = chart_dir().display().to_string();
    let out = cluster.helm(&[
        "install",
        &release.name,
        &chart,
        "--namespace",
        &release.namespace,
        "--dry-run=server",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if server_version < wanted {
        assert!(!out.status.success(), "helm installed a chart for {wanted:?} on {server_version:?}");
        assert!(stderr.contains("chart requires kubeVersion"), "{stderr}");
    } else {
        assert!(out.status.success(), "on {server_version:?}: {stderr}");
    }
}
