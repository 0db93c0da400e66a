//! The real Kubernetes control plane the tests share (etcd, kube-apiserver 1.20,
//! controller-manager, scheduler and the fake-kubelet TEST FIXTURE on loopback, started by
//! `scripts/kube/control-plane.sh`), and ways for a test to use and look at it.
//!
//! Tests share one control plane and stay apart by names derived from their `EDA_PREFIX`
//! ([`ControlPlane::name`]). A test that is not given a reachable control plane fails with
//! the command that starts one: it never passes by skipping.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use futures_util::StreamExt;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, PostParams};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use serde_json::{json, Value};

use crate::kube_api::install_crypto_provider;

/// Bounds a wait on the control plane; never a timing assertion.
pub const WITHIN: Duration = Duration::from_secs(60);
/// The node the fake kubelet registers.
pub const NODE: &str = "eda-fake-node";
/// The pod annotation that keeps a pod unready forever (see `src/bin/fake-kubelet.rs`).
pub const NEVER_READY: &str = "eda.io/fake-kubelet-never-ready";

fn cache() -> PathBuf {
    std::env::var_os("EDA_KUBE_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache/eda-kube")
    })
}

fn from_env_or(var: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or(default)
}

/// The test control plane: its admin kubeconfig, client, and the real helm and kubectl.
#[derive(Clone)]
pub struct ControlPlane {
    pub kubeconfig: PathBuf,
    pub helm: PathBuf,
    pub kubectl: PathBuf,
    client: Client,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane").field("kubeconfig", &self.kubeconfig).finish_non_exhaustive()
    }
}

impl ControlPlane {
    /// Connects as the control plane's admin (`EDA_KUBECONFIG`, else the script's default).
    /// Panics, naming the command that starts it, when the API server does not answer.
    pub async fn connect() -> ControlPlane {
        let kubeconfig = from_env_or("EDA_KUBECONFIG", cache().join("run/admin.kubeconfig"));
        let helm = Self::default_helm();
        let kubectl = from_env_or("EDA_KUBECTL", cache().join("bin/kubectl"));
        let hint = "start it with scripts/kube/control-plane.sh start (scripts/test.sh does)";
        let client = client_for(&kubeconfig).await.unwrap_or_else(|e| {
            panic!("the test control plane's kubeconfig {} is unusable ({e}); {hint}", kubeconfig.display())
        });
        if let Err(e) = client.apiserver_version().await {
            panic!("the test control plane ({}) does not answer: {e}; {hint}", kubeconfig.display());
        }
        for (what, path) in [("helm", &helm), ("kubectl", &kubectl)] {
            assert!(path.exists(), "the real {what} is not at {}; run scripts/kube/build.sh", path.display());
        }
        ControlPlane { kubeconfig, helm, kubectl, client }
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The real helm, where `scripts/kube/build.sh` puts it (or `EDA_HELM`).
    pub fn default_helm() -> PathBuf {
        from_env_or("EDA_HELM", cache().join("bin/helm"))
    }

    /// A name of this test's own: `<prefix>-<suffix>` (a DNS label for the test prefixes).
    pub fn name(prefix: &str, suffix: &str) -> String {
        format!("{prefix}-{suffix}")
    }

    /// The object, as JSON, or `None` when it does not exist.
    pub async fn get(&self, resource: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        match self.api(resource, namespace).get_opt(name).await {
            Ok(found) => found.map(|o| serde_json::to_value(o).expect("an object serializes")),
            Err(e) => panic!("get {resource} {namespace:?}/{name}: {e}"),
        }
    }

    /// Every object of a kind (in `namespace`, or cluster-wide), optionally by label selector.
    pub async fn list(&self, resource: &str, namespace: Option<&str>, labels: Option<&str>) -> Vec<Value> {
        let mut params = kube::api::ListParams::default();
        if let Some(selector) = labels {
            params = params.labels(selector);
        }
        let listed = self.api(resource, namespace).list(&params).await;
        let listed = listed.unwrap_or_else(|e| panic!("list {resource} in {namespace:?}: {e}"));
        listed.items.into_iter().map(|o| serde_json::to_value(o).expect("an object serializes")).collect()
    }

    /// Creates an object from its JSON (kind and apiVersion must be in [`resource_for`]).
    pub async fn create(&self, object: Value) -> Value {
        let kind = object["kind"].as_str().expect("the object has a kind").to_string();
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_string);
        let resource = resource_for(&kind);
        let object: DynamicObject = serde_json::from_value(object).expect("a Kubernetes object");
        let created = self.api(resource, namespace.as_deref()).create(&PostParams::default(), &object).await;
        serde_json::to_value(created.unwrap_or_else(|e| panic!("create {kind}: {e}"))).unwrap()
    }

    /// Merge-patches the object's `status` subresource (as a controller would) with `status`.
    pub async fn patch_status(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
        status: Value,
    ) -> Value {
        let patch = kube::api::Patch::Merge(json!({ "status": status }));
        let patched = self
            .api(resource, namespace)
            .patch_status(name, &kube::api::PatchParams::default(), &patch)
            .await;
        serde_json::to_value(
            patched.unwrap_or_else(|e| panic!("patch the status of {resource} {namespace:?}/{name}: {e}")),
        )
        .unwrap()
    }

    /// Deletes an object if it exists (background propagation).
    pub async fn delete(&self, resource: &str, namespace: Option<&str>, name: &str) {
        match self.api(resource, namespace).delete(name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => panic!("delete {resource} {namespace:?}/{name}: {e}"),
        }
    }

    /// Waits, on a watch, until the object exists and `condition` holds; returns it. Panics
    /// with the last state seen when [`WITHIN`] passes first.
    pub async fn wait_for(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
        condition: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_for_within(WITHIN, resource, namespace, name, condition).await
    }

    pub async fn wait_for_within(
        &self,
        within: Duration,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
        condition: impl Fn(&Value) -> bool,
    ) -> Value {
        let api = self.api(resource, namespace);
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let mut last = None;
        let mut stream = watcher(api, config).default_backoff().boxed();
        let waited = tokio::time::timeout(within, async {
            while let Some(event) = stream.next().await {
                let object = match event {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => o,
                    Ok(_) => continue,
                    // The watcher retries (a 410 relists); the timeout bounds a watch that never recovers.
                    Err(e) => {
                        tracing::warn!(%e, "watch {resource} {namespace:?}/{name} failed; retrying");
                        continue;
                    }
                };
                let value = serde_json::to_value(&object).expect("an object serializes");
                if condition(&value) {
                    return value;
                }
                last = Some(value);
            }
            panic!("the watch of {resource} {namespace:?}/{name} ended")
        })
        .await;
        waited.unwrap_or_else(|_| {
            panic!("{resource} {namespace:?}/{name} did not reach the condition within {within:?}; last state: {last:#?}")
        })
    }

    /// Waits, on a watch, until the object is gone (not merely being deleted).
    pub async fn wait_until_gone(&self, resource: &str, namespace: Option<&str>, name: &str) {
        let api = self.api(resource, namespace);
        let gone = kube::runtime::wait::await_condition(api, name, |o: Option<&DynamicObject>| o.is_none());
        let waited = tokio::time::timeout(WITHIN, gone).await;
        assert!(
            waited.is_ok_and(|r| r.is_ok()),
            "{resource} {namespace:?}/{name} was not deleted within {WITHIN:?}; last state: {:#?}",
            self.get(resource, namespace, name).await
        );
    }

    /// A kubeconfig at `dir/<namespace>.<name>.kubeconfig` that authenticates as the
    /// ServiceAccount, with a token from the TokenRequest API (valid one hour).
    pub async fn service_account_kubeconfig(&self, namespace: &str, name: &str, dir: &Path) -> PathBuf {
        let path = format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token");
        let body = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 3600}});
        let request = http::Request::post(path)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).unwrap())
            .unwrap();
        let answer: Value = self
            .client
            .request(request)
            .await
            .unwrap_or_else(|e| panic!("a token for ServiceAccount {namespace}/{name}: {e}"));
        let token = answer["status"]["token"].as_str().expect("a TokenRequest answers a token");
        let admin: Value = serde_yaml::from_str(
            &std::fs::read_to_string(&self.kubeconfig).expect("read the admin kubeconfig"),
        )
        .expect("the admin kubeconfig is YAML");
        let cluster = &admin["clusters"][0]["cluster"];
        let yaml = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: eda-test\n  cluster:\n    server: {server}\n    \
             certificate-authority: {ca}\nusers:\n- name: {namespace}.{name}\n  user:\n    token: {token}\n\
             contexts:\n- name: eda-test\n  context: {{cluster: eda-test, user: {namespace}.{name}, namespace: {namespace}}}\n\
             current-context: eda-test\n",
            server = cluster["server"].as_str().unwrap(),
            ca = cluster["certificate-authority"].as_str().unwrap(),
        );
        let file = dir.join(format!("{namespace}.{name}.kubeconfig"));
        std::fs::write(&file, yaml).expect("write the ServiceAccount's kubeconfig");
        file
    }

    /// Runs the real kubectl against this control plane (`--kubeconfig` added).
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_as(&self.kubeconfig, args)
    }

    pub fn kubectl_as(&self, kubeconfig: &Path, args: &[&str]) -> Output {
        Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.kubectl.display()))
    }

    /// Runs the real helm against this control plane (`--kubeconfig` added).
    pub fn helm(&self, args: &[&str]) -> Output {
        Command::new(&self.helm)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.helm.display()))
    }

    /// Compacts etcd's history up to its current revision, so that any watch from an
    /// older resourceVersion gets 410 Gone. Only a test that runs alone may call it.
    pub fn compact_etcd(&self) -> i64 {
        let endpoint = std::env::var("EDA_KUBE_ETCD").unwrap_or_else(|_| "127.0.0.1:12379".into());
        let status = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .args(["--endpoints", &endpoint, "endpoint", "status", "-w", "json"])
            .output()
            .expect("run etcdctl");
        assert!(
            status.status.success(),
            "etcdctl endpoint status: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let parsed: Value = serde_json::from_slice(&status.stdout).expect("etcdctl prints JSON");
        let revision = parsed[0]["Status"]["header"]["revision"].as_i64().expect("etcd reports its revision");
        let compact = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .args(["--endpoints", &endpoint, "compact", &revision.to_string(), "--physical"])
            .output()
            .expect("run etcdctl");
        assert!(compact.status.success(), "etcdctl compact: {}", String::from_utf8_lossy(&compact.stderr));
        revision
    }

    fn api(&self, resource: &str, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = api_resource(resource);
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        }
    }
}

/// A kube client from a kubeconfig file.
pub async fn client_for(kubeconfig: &Path) -> anyhow::Result<Client> {
    install_crypto_provider();
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
    Ok(Client::try_from(config)?)
}

/// The resources the tests look at: plural → (group, version, kind).
const RESOURCES: &[(&str, &str, &str, &str)] = &[
    ("namespaces", "", "v1", "Namespace"),
    ("pods", "", "v1", "Pod"),
    ("services", "", "v1", "Service"),
    ("configmaps", "", "v1", "ConfigMap"),
    ("secrets", "", "v1", "Secret"),
    ("serviceaccounts", "", "v1", "ServiceAccount"),
    ("resourcequotas", "", "v1", "ResourceQuota"),
    ("limitranges", "", "v1", "LimitRange"),
    ("nodes", "", "v1", "Node"),
    ("events", "events.k8s.io", "v1", "Event"),
    ("deployments", "apps", "v1", "Deployment"),
    ("replicasets", "apps", "v1", "ReplicaSet"),
    ("networkpolicies", "networking.k8s.io", "v1", "NetworkPolicy"),
    ("leases", "coordination.k8s.io", "v1", "Lease"),
    ("roles", "rbac.authorization.k8s.io", "v1", "Role"),
    ("rolebindings", "rbac.authorization.k8s.io", "v1", "RoleBinding"),
    ("clusterroles", "rbac.authorization.k8s.io", "v1", "ClusterRole"),
    ("clusterrolebindings", "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
    ("customresourcedefinitions", "apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
    ("helmreleases", "helm.toolkit.fluxcd.io", "v2", "HelmRelease"),
    ("tenants", "eda.io", "v1alpha1", "Tenant"),
];

fn api_resource(resource: &str) -> ApiResource {
    let (plural, group, version, kind) = RESOURCES
        .iter()
        .find(|(plural, ..)| *plural == resource)
        .unwrap_or_else(|| panic!("the test control plane helper does not know the resource {resource}"));
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// The plural resource of a kind the helper knows.
pub fn resource_for(kind: &str) -> &'static str {
    RESOURCES
        .iter()
        .find(|(_, _, _, k)| *k == kind)
        .map(|(plural, ..)| *plural)
        .unwrap_or_else(|| panic!("the test control plane helper does not know the kind {kind}"))
}
