//! The namespaces the exporter serves and the trace each one carries: a reflector of the
//! selected Namespaces, with a direct look-up when an event names a namespace the
//! reflector has not caught up with yet (its watch and the event watch race).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::ListParams;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::{KubeContext, Result};

/// The annotation the provisioner writes on a tenant namespace.
pub const TRACE_ID_ANNOTATION: &str = "eda.io/trace-id";
/// The `traceparent` of the span that recorded the tenant's newest order, written by the
/// provisioner while spans are exported.
pub const TRACEPARENT_ANNOTATION: &str = "eda.io/traceparent";
/// The label naming the client a namespace belongs to.
pub const CLIENT_LABEL: &str = "eda.io/client";

/// A namespace absent from the selection is not looked up again for this long.
const MISS_TTL: Duration = Duration::from_secs(10);
/// Remembered misses at most (cleared when full), so memory stays bounded.
const MAX_MISSES: usize = 1024;

/// What a namespace says about the events in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenant {
    /// Selected, with its client, (when annotated with a valid UUID) trace id, and the span of
    /// the order when the provisioner exports spans.
    Selected { client: String, trace_id: Option<Uuid>, order_span: Option<String> },
    /// Not selected by `--namespace-selector`, or gone.
    Unselected,
}

/// Looks namespaces up in the reflector's store.
#[derive(Clone)]
pub struct Namespaces {
    store: Store<Namespace>,
    api: Api<Namespace>,
    selector: Option<String>,
    misses: Arc<Mutex<HashMap<String, Instant>>>,
    /// True once the first list is in the store. kube-runtime's `Store::wait_until_ready`
    /// wakes only the last of several concurrent waiters (its one-shot keeps one waker), so
    /// one task waits on it and every other waiter waits here.
    synced: watch::Receiver<bool>,
}

impl Namespaces {
    /// Starts the reflector (`selector` `None`: every namespace); it runs until `stop`.
    pub fn start(client: Client, selector: Option<String>, stop: CancellationToken) -> Self {
        let api: Api<Namespace> = Api::all(client);
        let (store, writer) = reflector::store();
        let mut config = watcher::Config::default();
        if let Some(selector) = &selector {
            config = config.labels(selector);
        }
        let stream = reflector::reflector(writer, watcher(api.clone(), config)).default_backoff();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            loop {
                tokio::select! {
                    next = stream.next() => match next {
                        Some(Ok(_)) => {}
                        Some(Err(error)) => tracing::warn!(%error, "namespace watch failed; retrying"),
                        None => break,
                    },
                    () = stop.cancelled() => break,
                }
            }
        });
        let (synced_tx, synced) = watch::channel(false);
        let listed = store.clone();
        tokio::spawn(async move {
            // Only fails when the writer is dropped, i.e. the exporter is stopping.
            if listed.wait_until_ready().await.is_ok() {
                synced_tx.send_replace(true);
            }
        });
        Namespaces { store, api, selector, misses: Arc::default(), synced }
    }

    /// Waits until the first list of namespaces is in the store (or the exporter stops).
    pub async fn synced(&self) {
        self.synced.clone().wait_for(|listed| *listed).await.ok();
    }

    /// The tenant behind a namespace name.
    pub async fn lookup(&self, name: &str) -> Result<Tenant> {
        if let Some(ns) = self.store.get(&ObjectRef::new(name)) {
            return Ok(tenant_of(&ns));
        }
        if self.recently_missed(name) {
            return Ok(Tenant::Unselected);
        }
        let mut params = ListParams::default().fields(&format!("metadata.name={name}"));
        if let Some(selector) = &self.selector {
            params = params.labels(selector);
        }
        let found = self.api.list(&params).await.doing(|| format!("looking up namespace {name}"))?;
        match found.items.first() {
            Some(ns) => Ok(tenant_of(ns)),
            None => {
                self.remember_miss(name);
                Ok(Tenant::Unselected)
            }
        }
    }

    fn recently_missed(&self, name: &str) -> bool {
        let misses = self.misses.lock().expect("namespace misses poisoned");
        misses.get(name).is_some_and(|at| at.elapsed() < MISS_TTL)
    }

    fn remember_miss(&self, name: &str) {
        let mut misses = self.misses.lock().expect("namespace misses poisoned");
        if misses.len() >= MAX_MISSES {
            misses.clear();
        }
        misses.insert(name.to_owned(), Instant::now());
    }
}

/// Client (label, else the namespace's name) and trace id (annotation, if a UUID).
pub fn tenant_of(ns: &Namespace) -> Tenant {
    let name = ns.metadata.name.clone().unwrap_or_default();
    let labels = ns.metadata.labels.as_ref();
    let client = labels.and_then(|l| l.get(CLIENT_LABEL)).filter(|c| !c.is_empty()).cloned().unwrap_or(name);
    let annotations = ns.metadata.annotations.as_ref();
    let trace_id =
        annotations.and_then(|a| a.get(TRACE_ID_ANNOTATION)).and_then(|t| Uuid::parse_str(t.trim()).ok());
    let order_span = annotations.and_then(|a| a.get(TRACEPARENT_ANNOTATION)).cloned();
    Tenant::Selected { client, trace_id, order_span }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ns(value: serde_json::Value) -> Namespace {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_client_label_and_trace_annotation_are_read() {
        let id = Uuid::new_v4();
        let n = ns(json!({"metadata": {"name": "ns1", "labels": {"eda.io/client": "cliente02"},
            "annotations": {"eda.io/trace-id": id.to_string(), "eda.io/traceparent": "00-a-b-01"}}}));
        let order_span = Some("00-a-b-01".to_string());
        assert_eq!(
            tenant_of(&n),
            Tenant::Selected { client: "cliente02".into(), trace_id: Some(id), order_span }
        );
    }

    #[test]
    fn without_label_the_name_is_the_client_and_a_bad_trace_id_is_none() {
        let n = ns(json!({"metadata": {"name": "ns2", "annotations": {"eda.io/trace-id": "nope"}}}));
        assert_eq!(
            tenant_of(&n),
            Tenant::Selected { client: "ns2".into(), trace_id: None, order_span: None }
        );
    }
}
