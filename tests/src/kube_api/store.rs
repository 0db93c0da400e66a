//! The fixture's objects: one global resourceVersion, a bounded history of changes that
//! watches replay from, and a notification on every change.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::watch;

use super::registry::ResourceKind;

/// Where an object lives: its kind, namespace (`None` when cluster-scoped) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ObjectKey {
    pub kind: ResourceKind,
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeType {
    Added,
    Modified,
    Deleted,
}

/// One write, as watches replay it.
#[derive(Debug)]
pub(crate) struct Change {
    pub resource_version: u64,
    pub key: ObjectKey,
    pub change: ChangeType,
    pub object: Arc<Value>,
    pub previous: Option<Arc<Value>>,
}

/// A watch asked for changes the history no longer holds (HTTP 410 in Kubernetes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expired {
    pub requested: u64,
    pub oldest: u64,
}

pub(crate) struct Store {
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    resource_version: u64,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
    /// The oldest resourceVersion a watch can resume from: every change after it is in
    /// `history`.
    oldest_resumable: u64,
    activity: Arc<watch::Sender<u64>>,
}

impl Store {
    pub(crate) fn new(history_limit: usize, activity: Arc<watch::Sender<u64>>) -> Self {
        Self {
            objects: BTreeMap::new(),
            resource_version: 1,
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            oldest_resumable: 1,
            activity,
        }
    }

    pub(crate) fn resource_version(&self) -> u64 {
        self.resource_version
    }

    pub(crate) fn get(&self, key: &ObjectKey) -> Option<Arc<Value>> {
        self.objects.get(key).cloned()
    }

    /// The objects of a kind, in one namespace or (with `None`) all, ordered by namespace
    /// then name.
    pub(crate) fn list(&self, kind: &ResourceKind, namespace: Option<&str>) -> Vec<Arc<Value>> {
        self.objects
            .iter()
            .filter(|(k, _)| k.kind == *kind && namespace.is_none_or(|ns| k.namespace.as_deref() == Some(ns)))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Stores `object` under `key`, stamping the fields the server owns. Returns the stored
    /// object and whether anything changed: a write that changes nothing keeps the
    /// resourceVersion and notifies no watch, as on a real API server.
    pub(crate) fn write(&mut self, key: ObjectKey, mut object: Value) -> (Arc<Value>, bool) {
        let previous = self.objects.get(&key).cloned();
        stamp(&mut object, &key, previous.as_deref());
        if let Some(prev) = &previous {
            if **prev == object {
                return (prev.clone(), false);
            }
        }
        let resource_version = self.next_resource_version();
        object["metadata"]["resourceVersion"] = json!(resource_version.to_string());
        let object = Arc::new(object);
        self.objects.insert(key.clone(), object.clone());
        let change = if previous.is_some() { ChangeType::Modified } else { ChangeType::Added };
        self.record(Change { resource_version, key, change, object: object.clone(), previous });
        (object, true)
    }

    /// What `write` would store, without storing it (`dryRun=All`).
    pub(crate) fn preview(&self, key: &ObjectKey, mut object: Value) -> Value {
        stamp(&mut object, key, self.objects.get(key).map(|o| &**o));
        object
    }

    /// Deletes every object in a namespace, as a namespace's deletion does.
    pub(crate) fn delete_namespace_contents(&mut self, namespace: &str) {
        let doomed: Vec<ObjectKey> =
            self.objects.keys().filter(|k| k.namespace.as_deref() == Some(namespace)).cloned().collect();
        for key in doomed {
            self.delete(&key);
        }
    }

    /// Removes an object; the returned last state carries the deletion's resourceVersion.
    pub(crate) fn delete(&mut self, key: &ObjectKey) -> Option<Arc<Value>> {
        let previous = self.objects.remove(key)?;
        let resource_version = self.next_resource_version();
        let mut last = (*previous).clone();
        last["metadata"]["resourceVersion"] = json!(resource_version.to_string());
        let last = Arc::new(last);
        self.record(Change {
            resource_version,
            key: key.clone(),
            change: ChangeType::Deleted,
            object: last.clone(),
            previous: Some(previous),
        });
        Some(last)
    }

    /// Every change after `since`, or `Expired` when the history no longer reaches back.
    pub(crate) fn changes_since(&self, since: u64) -> Result<Vec<Arc<Change>>, Expired> {
        if since < self.oldest_resumable {
            return Err(Expired { requested: since, oldest: self.oldest_resumable });
        }
        let start = self.history.partition_point(|c| c.resource_version <= since);
        Ok(self.history.range(start..).cloned().collect())
    }

    /// Makes every resourceVersion handed out so far too old to watch from.
    pub(crate) fn expire_history(&mut self) {
        self.history.clear();
        self.oldest_resumable = self.next_resource_version();
        self.notify();
    }

    pub(crate) fn notify(&self) {
        self.activity.send_modify(|n| *n += 1);
    }

    fn next_resource_version(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    fn record(&mut self, change: Change) {
        self.history.push_back(Arc::new(change));
        while self.history.len() > self.history_limit {
            if let Some(evicted) = self.history.pop_front() {
                self.oldest_resumable = evicted.resource_version;
            }
        }
        self.notify();
    }
}

/// Sets what the server owns: identity, apiVersion/kind, uid and creationTimestamp (kept
/// from the stored object), generation (bumped when anything but metadata and status
/// changed) and, for comparison, the stored resourceVersion.
fn stamp(object: &mut Value, key: &ObjectKey, previous: Option<&Value>) {
    if !object.is_object() {
        *object = json!({});
    }
    object["apiVersion"] = json!(key.kind.api_version());
    object["kind"] = json!(key.kind.kind);
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    let prev_meta = previous.map(|p| &p["metadata"]);
    let given = &object["metadata"];
    let uid = match prev_meta {
        Some(p) => p["uid"].clone(),
        None => given
            .get("uid")
            .filter(|v| v.is_string())
            .cloned()
            .unwrap_or_else(|| json!(uuid::Uuid::new_v4().to_string())),
    };
    let created =
        match prev_meta {
            Some(p) => p["creationTimestamp"].clone(),
            None => given.get("creationTimestamp").filter(|v| v.is_string()).cloned().unwrap_or_else(|| {
                json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }),
        };
    let resource_version = prev_meta.map_or(Value::Null, |p| p["resourceVersion"].clone());
    let meta = object["metadata"].as_object_mut().expect("metadata is an object");
    meta.insert("name".into(), json!(key.name));
    match &key.namespace {
        Some(ns) => meta.insert("namespace".into(), json!(ns)),
        None => meta.remove("namespace"),
    };
    meta.insert("uid".into(), uid);
    meta.insert("creationTimestamp".into(), created);
    meta.insert("resourceVersion".into(), resource_version);
    let generation = match previous {
        None => 1,
        Some(prev) => {
            let prev_generation = prev["metadata"]["generation"].as_i64().unwrap_or(1);
            if desired_state(prev) == desired_state(object) {
                prev_generation
            } else {
                prev_generation + 1
            }
        }
    };
    object["metadata"]["generation"] = json!(generation);
}

/// Everything but metadata and status: what a change of `generation` tracks.
fn desired_state(object: &Value) -> Vec<(&String, &Value)> {
    let mut fields: Vec<_> = object
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind"))
        .collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube_api::registry::DEFAULT_KINDS;

    fn store() -> Store {
        Store::new(3, Arc::new(watch::channel(0).0))
    }

    fn key(name: &str) -> ObjectKey {
        ObjectKey { kind: DEFAULT_KINDS[0], namespace: None, name: name.into() }
    }

    #[test]
    fn a_write_that_changes_nothing_keeps_the_resource_version() {
        let mut store = store();
        let (first, changed) = store.write(key("c1"), json!({"metadata": {"labels": {"a": "1"}}}));
        assert!(changed);
        let (second, changed) = store.write(key("c1"), json!({"metadata": {"labels": {"a": "1"}}}));
        assert!(!changed);
        assert_eq!(first["metadata"]["resourceVersion"], second["metadata"]["resourceVersion"]);
        assert_eq!(store.changes_since(1).unwrap().len(), 1);
    }

    #[test]
    fn generation_moves_with_the_spec_but_not_with_metadata_or_status() {
        let mut store = store();
        store.write(key("c1"), json!({"spec": {"x": 1}}));
        let (obj, _) = store.write(key("c1"), json!({"spec": {"x": 1}, "status": {"phase": "Active"}}));
        assert_eq!(obj["metadata"]["generation"], 1);
        let (obj, _) = store.write(key("c1"), json!({"spec": {"x": 2}}));
        assert_eq!(obj["metadata"]["generation"], 2);
    }

    #[test]
    fn a_watch_from_before_the_history_window_has_expired() {
        let mut store = store();
        for name in ["a", "b", "c", "d"] {
            store.write(key(name), json!({}));
        }
        assert!(store.changes_since(1).is_err());
        assert_eq!(store.changes_since(2).unwrap().len(), 3);
        store.expire_history();
        assert!(store.changes_since(5).is_err());
        assert!(store.changes_since(store.resource_version()).unwrap().is_empty());
    }
}
