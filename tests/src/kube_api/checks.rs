//! The rules a real API server applies to every write, so clients meet them here too:
//! the body's type and name match the URL, a stale resourceVersion is a conflict, the
//! status subresource is respected, and (when asked) the namespace must exist.

use serde_json::Value;

use super::objects::ObjectRequest;
use super::registry::ResourceKind;
use super::shared::Shared;
use super::status::ApiError;
use super::store::{ObjectKey, Store};

pub(crate) fn check_type(kind: &ResourceKind, object: &Value) -> Result<(), ApiError> {
    let api_version = kind.api_version();
    match (object["apiVersion"].as_str(), object["kind"].as_str()) {
        (Some(v), _) if v != api_version => Err(ApiError::bad_request(format!(
            "the API version in the data ({v}) does not match the expected API version ({api_version})"
        ))),
        (_, Some(k)) if k != kind.kind => Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            kind.kind
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn check_identity(target: &ObjectRequest, object: &Value) -> Result<(), ApiError> {
    let meta = &object["metadata"];
    if let Some(name) = meta["name"].as_str().filter(|n| *n != target.name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            target.name
        )));
    }
    let namespace = meta["namespace"].as_str().filter(|ns| !ns.is_empty());
    if target.kind.namespaced && namespace.is_some() && namespace != target.namespace.as_deref() {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

/// A resourceVersion in the body is a precondition: stale means 409 Conflict.
pub(crate) fn check_precondition(
    target: &ObjectRequest,
    body: &Value,
    stored: &Value,
) -> Result<(), ApiError> {
    match body["metadata"]["resourceVersion"].as_str().filter(|rv| !rv.is_empty()) {
        Some(rv) if Some(rv) != stored["metadata"]["resourceVersion"].as_str() => {
            Err(ApiError::conflict(&target.kind, &target.name))
        }
        _ => Ok(()),
    }
}

/// With a status subresource, the main resource keeps the stored status and `/status`
/// changes nothing but the status.
pub(crate) fn splice_status(target: &ObjectRequest, stored: &Value, mut written: Value) -> Value {
    if !target.kind.status_subresource {
        return written;
    }
    let (mut base, status) = match target.subresource {
        None => (written.take(), stored.get("status").cloned()),
        Some(_) => (stored.clone(), written.get("status").cloned()),
    };
    let base_map = base.as_object_mut().expect("objects are JSON objects");
    match status {
        Some(status) => base_map.insert("status".into(), status),
        None => base_map.remove("status"),
    };
    base
}

pub(crate) fn namespace_kind(shared: &Shared) -> Option<ResourceKind> {
    shared.registry().find("", "v1", "namespaces")
}

pub(crate) fn require_namespace(
    shared: &Shared,
    store: &Store,
    namespaces: Option<ResourceKind>,
    target: &ObjectRequest,
) -> Result<(), ApiError> {
    let (true, Some(ns), Some(namespaces)) = (shared.require_namespaces, &target.namespace, namespaces)
    else {
        return Ok(());
    };
    let key = ObjectKey { kind: namespaces, namespace: None, name: ns.clone() };
    match store.get(&key) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(&namespaces, ns)),
    }
}
