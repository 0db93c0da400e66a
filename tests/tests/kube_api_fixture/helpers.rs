//! What the fixture's self-tests share: objects to apply, a watcher summarized line by
//! line, and kube errors reduced to code and reason.

use std::time::Duration;

use futures_util::StreamExt;
use kube::api::{Api, ApiResource, GroupVersionKind, PatchParams};
use kube::runtime::watcher;
use kube::{Error, ResourceExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;

pub(crate) const MANAGER: &str = "eda-provisioner";
pub(crate) const WAIT: Duration = Duration::from_secs(30);

pub(crate) fn namespace_config(name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels, "annotations": {"eda.io/trace-id": "9a2ae9de-3f82-4f55-966b-47df50ff51ff"}},
    })
}

pub(crate) fn apply() -> PatchParams {
    PatchParams::apply(MANAGER).force()
}

pub(crate) fn helm_release_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("helm.toolkit.fluxcd.io", "v2", "HelmRelease"),
        "helmreleases",
    )
}

pub(crate) fn config_map(namespace: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": {"k": name}})
}

/// Runs a kube watcher in its own task and forwards a one-line summary of each item, so a
/// test can await them in order.
pub(crate) fn summarized_watcher<K>(api: Api<K>, config: watcher::Config) -> mpsc::UnboundedReceiver<String>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut events = watcher(api, config).boxed();
        while let Some(item) = events.next().await {
            let line = match item {
                Ok(watcher::Event::Init) => "Init".to_string(),
                Ok(watcher::Event::InitApply(o)) => {
                    format!("InitApply {} {}", o.name_any(), o.resource_version().unwrap_or_default())
                }
                Ok(watcher::Event::InitDone) => "InitDone".to_string(),
                Ok(watcher::Event::Apply(o)) => {
                    format!("Apply {} {}", o.name_any(), o.resource_version().unwrap_or_default())
                }
                Ok(watcher::Event::Delete(o)) => format!("Delete {}", o.name_any()),
                Err(watcher::Error::WatchError(status)) => {
                    format!("WatchError {} {}", status.code, status.reason)
                }
                Err(other) => format!("Error {other}"),
            };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

pub(crate) async fn next_lines(rx: &mut mpsc::UnboundedReceiver<String>, count: usize) -> Vec<String> {
    let mut lines = Vec::new();
    while lines.len() < count {
        let line = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("the watcher produced nothing")
            .expect("watcher ended");
        lines.push(line);
    }
    lines
}

pub(crate) fn api_error(result: Result<impl std::fmt::Debug, Error>) -> (u16, String) {
    match result {
        Err(Error::Api(status)) => (status.code, status.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}
