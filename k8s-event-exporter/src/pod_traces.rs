//! The trace id a Pod carries itself (`trace_id` annotation, set by the provisioner through
//! `podAnnotations`), which names the purchase that rolled the Pod out more precisely than
//! its namespace, whose annotation moves on with the next purchase.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Pod;
use kube::{Api, Client};
use uuid::Uuid;

use crate::kube_event::InvolvedObject;

/// The Pod annotation holding the trace id.
pub const POD_TRACE_ANNOTATION: &str = "trace_id";
/// Pods remembered (by uid; cleared when full), so each Pod is read once while its events flow.
const CAPACITY: usize = 4096;

/// Reads a Pod's trace id, once per Pod uid, in bounded memory.
#[derive(Clone)]
pub struct PodTraces {
    client: Client,
    /// uid → trace id, or the nil UUID for "read, has none".
    cache: Arc<Mutex<HashMap<String, Uuid>>>,
}

impl PodTraces {
    pub fn new(client: Client) -> Self {
        PodTraces { client, cache: Arc::default() }
    }

    /// The Pod's own trace id, if the event is about a Pod that has one. API errors
    /// (forbidden, gone) mean "none": the namespace's trace id is used instead.
    pub async fn trace_id(&self, object: &InvolvedObject, namespace: &str) -> Option<Uuid> {
        if object.kind != "Pod" || object.uid.is_empty() || object.name.is_empty() {
            return None;
        }
        if let Some(id) = self.cached(&object.uid) {
            return (!id.is_nil()).then_some(id);
        }
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), object.namespace.as_deref().unwrap_or(namespace));
        let found = match api.get_opt(&object.name).await {
            Ok(found) => found,
            Err(error) => {
                tracing::debug!(%error, "could not read the pod an event is about");
                return None;
            }
        };
        // Same name, another uid: a later Pod; its annotation says nothing about this event.
        let id = found
            .filter(|p| p.metadata.uid.as_deref() == Some(object.uid.as_str()))
            .and_then(|p| p.metadata.annotations?.get(POD_TRACE_ANNOTATION).cloned())
            .and_then(|s| Uuid::parse_str(s.trim()).ok())
            .unwrap_or(Uuid::nil());
        self.remember(&object.uid, id);
        (!id.is_nil()).then_some(id)
    }

    fn cached(&self, uid: &str) -> Option<Uuid> {
        self.cache.lock().expect("pod trace cache poisoned").get(uid).copied()
    }

    fn remember(&self, uid: &str, id: Uuid) {
        let mut cache = self.cache.lock().expect("pod trace cache poisoned");
        if cache.len() >= CAPACITY {
            cache.clear();
        }
        cache.insert(uid.to_owned(), id);
    }
}
