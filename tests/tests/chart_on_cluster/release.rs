//! A release of helm/eda of the test's own on the shared control plane: its names (release,
//! namespace, and so the cluster-scoped RBAC objects, all derived from the test's prefix), the
//! chart rendered by the real helm, and cleanup that also runs when the test fails.

use std::path::{Path, PathBuf};
use std::process::Output;

use eda_tests::control_plane::ControlPlane;
use serde::Deserialize;
use serde_json::{json, Value};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").to_path_buf()
}

pub fn chart_dir() -> PathBuf {
    repo_root().join("helm/eda")
}

/// The values under which every template renders (shared with tests/tests/chart/helm.rs).
pub fn every_template_values() -> PathBuf {
    repo_root().join("tests/fixtures/chart/every-template.values.yaml")
}

/// A prefix of this test's own when it needs no broker: `t<12 hex>`, as `TestBroker` makes them.
pub fn fresh_prefix() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

pub fn succeeded(what: &str, out: &Output) -> String {
    assert!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// Every document of a YAML stream, as JSON (empty ones dropped).
pub fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("the YAML does not parse: {e}")))
        .filter(|doc| !doc.is_null())
        .collect()
}

pub struct TestRelease {
    pub cluster: ControlPlane,
    /// The helm release, and the prefix of every object name the chart makes (ClusterRoles too).
    pub name: String,
    /// The release's namespace.
    pub namespace: String,
    /// Scratch files (chart copy, manifests, ServiceAccount kubeconfigs); removed on drop.
    pub dir: PathBuf,
    /// Other namespaces the test made, deleted on drop.
    extra_namespaces: std::sync::Mutex<Vec<String>>,
}

impl TestRelease {
    pub fn new(cluster: &ControlPlane, prefix: &str) -> TestRelease {
        let name = ControlPlane::name(prefix, "eda");
        let dir = std::env::temp_dir().join(format!("eda-chart-on-cluster-{name}"));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        TestRelease {
            cluster: cluster.clone(),
            namespace: name.clone(),
            name,
            dir,
            extra_namespaces: Default::default(),
        }
    }

    /// Creates the release's namespace.
    pub async fn create_namespace(&self) {
        self.cluster
            .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}))
            .await;
    }

    /// Deletes `namespace` when the test ends, however it ends.
    pub fn owns_namespace(&self, namespace: &str) {
        self.extra_namespaces.lock().unwrap().push(namespace.to_owned());
    }

    /// `helm template` of `chart` as this release (in its namespace), parsed.
    pub fn render(&self, chart: &Path, args: &[&str]) -> Vec<Value> {
        let chart = chart.display().to_string();
        let mut all = vec!["template", &self.name, &chart, "--namespace", &self.namespace];
        all.extend_from_slice(args);
        documents(&succeeded("helm template", &self.cluster.helm(&all)))
    }

    /// helm/eda as this control plane can install it: a copy without `kubeVersion`. The chart
    /// asks for a newer Kubernetes than the test control plane's 1.20, and helm refuses an
    /// install (never a `template`) below it; everything else is the chart unchanged.
    pub fn installable_chart(&self) -> PathBuf {
        let copy = self.dir.join("eda");
        copy_dir(&chart_dir(), &copy);
        let chart_yaml = copy.join("Chart.yaml");
        let text = std::fs::read_to_string(&chart_yaml).unwrap();
        let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("kubeVersion:")).collect();
        assert_eq!(kept.len() + 1, text.lines().count(), "Chart.yaml has one kubeVersion line");
        std::fs::write(&chart_yaml, kept.join("\n") + "\n").unwrap();
        copy
    }

    /// Writes manifests to a file and applies them in the release's namespace (server side, as
    /// helm 4 does).
    pub fn apply(&self, file: &str, manifests: &[&Value]) {
        let yaml: Vec<String> = manifests.iter().map(|m| serde_yaml::to_string(m).unwrap()).collect();
        let path = self.dir.join(file);
        std::fs::write(&path, yaml.join("---\n")).unwrap();
        let path = path.display().to_string();
        let args =
            ["apply", "--server-side", "--field-manager", "eda-tests", "-n", &self.namespace, "-f", &path];
        succeeded("kubectl apply", &self.cluster.kubectl(&args));
    }
}

impl Drop for TestRelease {
    fn drop(&mut self) {
        // Also on a failed assertion: nothing of this test stays behind for the next one,
        // least of all cluster-scoped RBAC. Every step ignores what is already gone.
        let selector = format!("app.kubernetes.io/instance={}", self.name);
        let _ = self.cluster.helm(&[
            "uninstall",
            &self.name,
            "--namespace",
            &self.namespace,
            "--ignore-not-found",
        ]);
        let _ = self.cluster.kubectl(&[
            "delete",
            "clusterrolebindings,clusterroles",
            "-l",
            &selector,
            "--ignore-not-found",
            "--wait=false",
        ]);
        let mut namespaces = self.extra_namespaces.lock().unwrap().clone();
        namespaces.push(self.namespace.clone());
        let mut args = vec!["delete", "namespaces", "--ignore-not-found", "--wait=false"];
        args.extend(namespaces.iter().map(String::as_str));
        let _ = self.cluster.kubectl(&args);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
