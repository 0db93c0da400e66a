//! TEST FIXTURE — a fake kubelet, never a real one.
//!
//! No kubelet can run on the test machines (no container runtime), so this stands in for
//! one on the real test control plane (`scripts/kube/control-plane.sh`):
//! - registers one Node (default `eda-fake-node`) with room for 1,000 pods, `Ready`, no
//!   taints, and renews its Lease and `Ready` heartbeat;
//! - marks every pod the real scheduler binds to it `Running` and `Ready` (containers
//!   running, a pod IP), so ReplicaSets, Deployments and `helm --wait` see what they would
//!   on a real node;
//! - a pod whose annotations carry [`NEVER_READY`]`: "true"` is `Running` but never
//!   `Ready`: the never-ready tests put it in their chart's pod template;
//! - finishes the deletion of pods that are being deleted (grace period 0), as a kubelet
//!   does once the containers are gone.
//!
//! It authenticates as `system:node:<node>` (group `system:nodes`), so the real Node
//! authorizer and NodeRestriction admission decide what it may do, as for a kubelet.

use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use serde_json::{json, Value};

/// The pod annotation that keeps a pod unready forever (for charts that must never become ready).
pub const NEVER_READY: &str = "eda.io/fake-kubelet-never-ready";
const LEASE_NAMESPACE: &str = "kube-node-lease";
const HEARTBEAT: Duration = Duration::from_secs(10);

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut kubeconfig, mut node) = (None, "eda-fake-node".to_string());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--kubeconfig" => kubeconfig = args.next(),
            "--node-name" => node = args.next().context("--node-name needs a value")?,
            other => anyhow::bail!(
                "unknown argument {other}; usage: fake-kubelet --kubeconfig FILE [--node-name NAME]"
            ),
        }
    }
    let kubeconfig = kubeconfig.context("--kubeconfig FILE is required")?;
    eda_tests::kube_api::install_crypto_provider();
    let kc =
        kube::config::Kubeconfig::read_from(&kubeconfig).with_context(|| format!("read {kubeconfig}"))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
    let client = Client::try_from(config)?;

    register(&client, &node).await?;
    eprintln!("fake-kubelet: node {node} registered and Ready");
    let heartbeat = tokio::spawn(heartbeat(client.clone(), node.clone()));
    let pods = run_pods(client, node);
    tokio::select! {
        r = pods => r,
        r = heartbeat => r.context("the heartbeat task panicked")?,
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn node_status(heartbeat: &str) -> Value {
    let condition = |type_: &str, status: &str, reason: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": "fake kubelet",
            "lastHeartbeatTime": heartbeat, "lastTransitionTime": heartbeat})
    };
    json!({"status": {
        "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000", "ephemeral-storage": "1Ti"},
        "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000", "ephemeral-storage": "1Ti"},
        "conditions": [
            condition("Ready", "True", "KubeletReady"),
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID"),
        ],
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": "eda-fake-node"}],
        "nodeInfo": {"kubeletVersion": "v1.20.2", "kubeProxyVersion": "v1.20.2", "containerRuntimeVersion": "fake://0",
            "operatingSystem": "linux", "architecture": "amd64", "osImage": "eda fake kubelet",
            "kernelVersion": "", "machineID": "", "systemUUID": "", "bootID": ""},
    }})
}

async fn register(client: &Client, name: &str) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "eda.io/fake-kubelet": "true"}},
        "spec": {},
    }))?;
    match nodes.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(e).context("create the node"),
    }
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(node_status(&now())))
        .await
        .context("write the node's status")?;
    Ok(())
}

async fn heartbeat(client: Client, name: String) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let leases: Api<Lease> = Api::namespaced(client, LEASE_NAMESPACE);
    loop {
        let at = now();
        if let Err(e) =
            nodes.patch_status(&name, &PatchParams::default(), &Patch::Merge(node_status(&at))).await
        {
            eprintln!("fake-kubelet: heartbeat failed: {e}");
        }
        let renew = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": LEASE_NAMESPACE},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": renew}});
        let params = PatchParams::apply("fake-kubelet").force();
        if let Err(e) = leases.patch(&name, &params, &Patch::Apply(lease)).await {
            eprintln!("fake-kubelet: lease renewal failed: {e}");
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
}

async fn run_pods(client: Client, node: String) -> anyhow::Result<()> {
    let all: Api<Pod> = Api::all(client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
    let mut pods = watcher(all, config).default_backoff().applied_objects().boxed();
    while let Some(next) = pods.next().await {
        // A failed or expired (410) watch is retried by the watcher with backoff, relisting.
        let pod = match next {
            Ok(pod) => pod,
            Err(e) => {
                eprintln!("fake-kubelet: the pod watch failed, retrying: {e}");
                continue;
            }
        };
        if let Err(e) = handle(&client, &pod).await {
            eprintln!("fake-kubelet: pod {}/{}: {e:#}", ns(&pod), name(&pod));
        }
    }
    anyhow::bail!("the pod watch ended")
}

fn ns(pod: &Pod) -> &str {
    pod.metadata.namespace.as_deref().unwrap_or_default()
}

fn name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

async fn handle(client: &Client, pod: &Pod) -> anyhow::Result<()> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns(pod));
    if pod.metadata.deletion_timestamp.is_some() {
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions { uid: pod.metadata.uid.clone(), resource_version: None }),
            ..DeleteParams::default()
        };
        return match api.delete(name(pod), &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(e) => Err(e).context("finish the deletion"),
        };
    }
    let ready = pod.metadata.annotations.as_ref().and_then(|a| a.get(NEVER_READY)).map(String::as_str)
        != Some("true");
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref());
    let ready_now = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status == "True");
    if phase == Some("Running") && ready_now == Some(ready) {
        return Ok(());
    }
    api.patch_status(name(pod), &PatchParams::default(), &Patch::Merge(running_status(pod, ready)))
        .await
        .context("mark it running")?;
    Ok(())
}

fn running_status(pod: &Pod, ready: bool) -> Value {
    let at = now();
    let started = pod.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0.to_string());
    let flag = if ready { "True" } else { "False" };
    let containers: Vec<Value> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            json!({"name": c.name, "ready": ready, "started": true, "restartCount": 0,
                "image": c.image.clone().unwrap_or_default(), "imageID": format!("fake://{}", c.image.clone().unwrap_or_default()),
                "containerID": format!("fake://{}/{}", pod.metadata.uid.clone().unwrap_or_default(), c.name),
                "state": {"running": {"startedAt": at}}})
        })
        .collect();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    // A pod IP from the uid, so Endpoints have something to list.
    let octets: Vec<u8> = uid.bytes().filter(u8::is_ascii_hexdigit).take(4).collect();
    let ip = format!(
        "10.244.{}.{}",
        octets.first().copied().unwrap_or(0) % 250,
        octets.get(1).copied().unwrap_or(1) % 250 + 2
    );
    let condition =
        |type_: &str, status: &str| json!({"type": type_, "status": status, "lastTransitionTime": at});
    json!({"status": {
        "phase": "Running",
        "conditions": [condition("Initialized", "True"), condition("Ready", flag),
            condition("ContainersReady", flag), condition("PodScheduled", "True")],
        "containerStatuses": containers,
        "hostIP": "127.0.0.1", "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": started.unwrap_or(at),
    }})
}
