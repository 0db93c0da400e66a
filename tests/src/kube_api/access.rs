//! Direct access to the fixture's objects, for tests: inspect what a client wrote, and
//! write what a controller or the kubelet would (Events, HelmRelease status).

use serde::Serialize;
use serde_json::Value;

use super::registry::ResourceKind;
use super::store::ObjectKey;
use super::KubeApiTestServer;

impl KubeApiTestServer {
    /// An object by kind (`"namespaces"`, `"HelmRelease"`, `"events.events.k8s.io"`,
    /// `"coordination.k8s.io/v1/leases"`; a bare `"events"` is core/v1), namespace
    /// (ignored for cluster-scoped kinds, `None` meaning `default` otherwise) and name.
    pub fn get(&self, resource: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let key = self.key(resource, namespace, name);
        self.shared.store().get(&key).map(|o| (*o).clone())
    }

    /// The objects of a kind in one namespace, or in all with `None`, by namespace and name.
    pub fn list(&self, resource: &str, namespace: Option<&str>) -> Vec<Value> {
        let kind = self.kind(resource);
        let namespace = namespace.filter(|_| kind.namespaced);
        self.shared.store().list(&kind, namespace).into_iter().map(|o| (*o).clone()).collect()
    }

    /// Puts an object straight into the store (any `Serialize` with `apiVersion` and
    /// `kind`, e.g. a k8s-openapi type), status included, as a controller or the kubelet
    /// would: bumps the resourceVersion (unless nothing changed) and notifies watches.
    /// A namespaced object without a namespace goes to `default`. Returns what is stored.
    pub fn put_object(&self, object: impl Serialize) -> Value {
        let object = serde_json::to_value(object).expect("the object serializes to JSON");
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind_name = object["kind"].as_str().unwrap_or_default();
        let kind = self.shared.registry().by_api_version_kind(api_version, kind_name);
        let kind =
            kind.unwrap_or_else(|| panic!("put_object: the fixture has no kind {api_version}/{kind_name}"));
        let name = object["metadata"]["name"].as_str().expect("put_object: the object needs metadata.name");
        let key = key_of(kind, object["metadata"]["namespace"].as_str(), name);
        let (stored, _) = self.shared.store().write(key, object);
        (*stored).clone()
    }

    /// Replaces an object's `status`, as its controller would (Flux's helm-controller
    /// setting a HelmRelease's Ready condition). Panics when the object does not exist.
    pub fn set_status(&self, resource: &str, namespace: Option<&str>, name: &str, status: Value) -> Value {
        let key = self.key(resource, namespace, name);
        let mut store = self.shared.store();
        let mut object = store.get(&key).map(|o| (*o).clone()).unwrap_or_else(|| {
            panic!("set_status: no {resource} {namespace:?}/{name} in the fixture");
        });
        object["status"] = status;
        (*store.write(key, object).0).clone()
    }

    /// Deletes an object, notifying watches; its last state, if it existed.
    pub fn delete_object(&self, resource: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let key = self.key(resource, namespace, name);
        self.shared.store().delete(&key).map(|o| (*o).clone())
    }

    pub(super) fn kind(&self, resource: &str) -> ResourceKind {
        self.shared.registry().resolve(resource).unwrap_or_else(|| {
            panic!(
                "the test fixture has no kind {resource:?}; add it with KubeApiTestServerBuilder::with_kind"
            )
        })
    }

    fn key(&self, resource: &str, namespace: Option<&str>, name: &str) -> ObjectKey {
        key_of(self.kind(resource), namespace, name)
    }
}

fn key_of(kind: ResourceKind, namespace: Option<&str>, name: &str) -> ObjectKey {
    let namespace = kind.namespaced.then(|| namespace.unwrap_or("default").to_string());
    ObjectKey { kind, namespace, name: name.to_string() }
}
