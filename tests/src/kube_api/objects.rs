//! Object operations: get, list, create, replace, patch (apply, merge), delete, each
//! checked the way a real API server checks it (404, 409 AlreadyExists, 409 Conflict on a
//! stale resourceVersion, the status subresource).

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::checks::{
    check_identity, check_precondition, check_type, namespace_kind, require_namespace, splice_status,
};
use super::patch::{field_set, managed_fields_of, merge_patch, record_manager, remove_disowned, ManagedBy};
use super::registry::ResourceKind;
use super::requests::ApiRequest;
use super::selectors::Selector;
use super::shared::Shared;
use super::status::ApiError;
use super::store::{ObjectKey, Store};

type Answer = Result<(StatusCode, Value), ApiError>;

/// The object (or subresource) a request addresses.
#[derive(Debug, Clone)]
pub(crate) struct ObjectRequest {
    pub kind: ResourceKind,
    pub namespace: Option<String>,
    pub name: String,
    pub subresource: Option<String>,
}

impl ObjectRequest {
    fn key(&self) -> ObjectKey {
        ObjectKey { kind: self.kind, namespace: self.namespace.clone(), name: self.name.clone() }
    }

    fn not_found(&self) -> ApiError {
        ApiError::not_found(&self.kind, &self.name)
    }

    fn check_subresource(&self) -> Result<(), ApiError> {
        match self.subresource.as_deref() {
            None => Ok(()),
            Some("status") if self.kind.status_subresource => Ok(()),
            Some(_) => Err(ApiError::no_route()),
        }
    }
}

pub(crate) fn get(shared: &Shared, target: &ObjectRequest) -> Answer {
    target.check_subresource()?;
    let object = shared.store().get(&target.key()).ok_or_else(|| target.not_found())?;
    Ok((StatusCode::OK, (*object).clone()))
}

pub(crate) fn list(
    shared: &Shared,
    kind: &ResourceKind,
    namespace: Option<&str>,
    selector: &Selector,
) -> Value {
    let store = shared.store();
    let items: Vec<Value> = store
        .list(kind, namespace)
        .into_iter()
        .filter(|o| selector.matches(o))
        .map(|o| (*o).clone())
        .collect();
    list_of(kind, store.resource_version(), items)
}

pub(crate) fn create(shared: &Shared, request: &ApiRequest, kind: &ResourceKind, namespace: &str) -> Answer {
    let mut object = body_object(request)?;
    check_type(kind, &object)?;
    let generated = object["metadata"]["generateName"].as_str().map(|prefix| {
        let suffix: String = uuid::Uuid::new_v4().simple().to_string().chars().take(5).collect();
        format!("{prefix}{suffix}")
    });
    let name = match object["metadata"]["name"].as_str().map(str::to_string).or(generated) {
        Some(name) => name,
        None => {
            return Err(ApiError::invalid(kind, "", "metadata.name or metadata.generateName is required"))
        }
    };
    let target = ObjectRequest {
        kind: *kind,
        namespace: kind.namespaced.then(|| namespace.to_string()),
        name,
        subresource: None,
    };
    check_identity(&target, &object)?;
    let namespaces = namespace_kind(shared);
    let mut store = shared.store();
    if store.get(&target.key()).is_some() {
        return Err(ApiError::already_exists(kind, &target.name));
    }
    require_namespace(shared, &store, namespaces, &target)?;
    if kind.status_subresource {
        object.as_object_mut().map(|o| o.remove("status"));
    }
    record_update(request, &mut object, &target, &Value::Null);
    Ok((StatusCode::CREATED, commit(&mut store, request, target.key(), object)))
}

pub(crate) fn replace(shared: &Shared, request: &ApiRequest, target: &ObjectRequest) -> Answer {
    target.check_subresource()?;
    let object = body_object(request)?;
    check_type(&target.kind, &object)?;
    check_identity(target, &object)?;
    let mut store = shared.store();
    let old = store.get(&target.key()).ok_or_else(|| target.not_found())?;
    check_precondition(target, &object, &old)?;
    let mut object = splice_status(target, &old, object);
    record_update(request, &mut object, target, &Value::Null);
    Ok((StatusCode::OK, commit(&mut store, request, target.key(), object)))
}

pub(crate) fn patch(shared: &Shared, request: &ApiRequest, target: &ObjectRequest) -> Answer {
    target.check_subresource()?;
    let content_type = request.content_type.as_deref().unwrap_or("");
    match content_type.split(';').next().unwrap_or("").trim() {
        "application/apply-patch+yaml" => apply(shared, request, target, body_object(request)?),
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            merge(shared, request, target, body_object(request)?)
        }
        other => Err(ApiError::new(
            415,
            format!("the test fixture serves apply, merge and strategic-merge patches, not {other:?}"),
        )),
    }
}

fn merge(shared: &Shared, request: &ApiRequest, target: &ObjectRequest, patch: Value) -> Answer {
    let mut store = shared.store();
    let old = store.get(&target.key()).ok_or_else(|| target.not_found())?;
    check_precondition(target, &patch, &old)?;
    let mut object = (*old).clone();
    merge_patch(&mut object, &patch);
    check_identity(target, &object)?;
    let mut object = splice_status(target, &old, object);
    record_update(request, &mut object, target, &patch);
    Ok((StatusCode::OK, commit(&mut store, request, target.key(), object)))
}

/// Server-side apply: create if absent; otherwise drop what this manager applied before
/// and no longer applies, merge the applied fields (lists replace), record the manager.
fn apply(shared: &Shared, request: &ApiRequest, target: &ObjectRequest, mut applied: Value) -> Answer {
    let manager = request.query.get("fieldManager").filter(|m| !m.is_empty()).ok_or_else(|| {
        ApiError::invalid(
            &target.kind,
            &target.name,
            "fieldManager: Required value: is required for apply patch",
        )
    })?;
    if applied["apiVersion"].as_str().is_none() || applied["kind"].as_str().is_none() {
        return Err(ApiError::bad_request("an apply patch needs apiVersion and kind"));
    }
    check_type(&target.kind, &applied)?;
    check_identity(target, &applied)?;
    let namespaces = namespace_kind(shared);
    let mut store = shared.store();
    let old = store.get(&target.key());
    match &old {
        Some(old) => check_precondition(target, &applied, old)?,
        None if target.subresource.is_some() => return Err(target.not_found()),
        None => require_namespace(shared, &store, namespaces, target)?,
    }
    if let Some(meta) = applied["metadata"].as_object_mut() {
        meta.remove("resourceVersion");
        meta.remove("managedFields");
    }
    let api_version = target.kind.api_version();
    let by = ManagedBy {
        manager,
        operation: "Apply",
        api_version: &api_version,
        subresource: target.subresource.as_deref(),
        fields: field_set(&applied),
    };
    let mut object = old.as_deref().cloned().unwrap_or_else(|| json!({}));
    if let Some(previous) = managed_fields_of(&object, &by) {
        remove_disowned(&mut object, &previous, &by.fields);
    }
    merge_patch(&mut object, &applied);
    let mut object = match &old {
        Some(old) => splice_status(target, old, object),
        None if target.kind.status_subresource => {
            object.as_object_mut().map(|o| o.remove("status"));
            object
        }
        None => object,
    };
    record_manager(&mut object, &by);
    let code = if old.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((code, commit(&mut store, request, target.key(), object)))
}

pub(crate) fn delete(shared: &Shared, request: &ApiRequest, target: &ObjectRequest) -> Answer {
    if target.subresource.is_some() {
        return Err(ApiError::new(405, "a subresource cannot be deleted"));
    }
    let mut store = shared.store();
    let old = store.get(&target.key()).ok_or_else(|| target.not_found())?;
    let body = request.body.clone().ok().flatten().unwrap_or(Value::Null);
    let preconditions = &body["preconditions"];
    for field in ["resourceVersion", "uid"] {
        if let Some(expected) = preconditions[field].as_str() {
            if old["metadata"][field].as_str() != Some(expected) {
                return Err(ApiError::conflict(&target.kind, &target.name));
            }
        }
    }
    if dry_run(request) {
        return Ok((StatusCode::OK, (*old).clone()));
    }
    if is_namespace(&target.kind) {
        store.delete_namespace_contents(&target.name);
    }
    let last = store.delete(&target.key()).ok_or_else(|| target.not_found())?;
    Ok((StatusCode::OK, (*last).clone()))
}

pub(crate) fn delete_collection(
    shared: &Shared,
    kind: &ResourceKind,
    namespace: Option<&str>,
    selector: &Selector,
) -> Value {
    let mut store = shared.store();
    let doomed: Vec<ObjectKey> = store
        .list(kind, namespace)
        .into_iter()
        .filter(|o| selector.matches(o))
        .map(|o| ObjectKey {
            kind: *kind,
            namespace: o["metadata"]["namespace"].as_str().map(str::to_string),
            name: o["metadata"]["name"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    let deleted: Vec<Value> =
        doomed.iter().filter_map(|key| store.delete(key)).map(|o| (*o).clone()).collect();
    list_of(kind, store.resource_version(), deleted)
}

fn list_of(kind: &ResourceKind, resource_version: u64, items: Vec<Value>) -> Value {
    json!({
        "kind": format!("{}List", kind.kind),
        "apiVersion": kind.api_version(),
        "metadata": {"resourceVersion": resource_version.to_string()},
        "items": items,
    })
}

fn commit(store: &mut Store, request: &ApiRequest, key: ObjectKey, object: Value) -> Value {
    if dry_run(request) {
        store.preview(&key, object)
    } else {
        (*store.write(key, object).0).clone()
    }
}

fn dry_run(request: &ApiRequest) -> bool {
    request.query.get("dryRun") == Some("All")
}

fn body_object(request: &ApiRequest) -> Result<Value, ApiError> {
    match &request.body {
        Ok(Some(body @ Value::Object(_))) => Ok(body.clone()),
        Ok(_) => Err(ApiError::bad_request("the request body must be an object")),
        Err(e) => Err(e.clone()),
    }
}

/// Records an `Update` manager when the client named one with `fieldManager`.
fn record_update(request: &ApiRequest, object: &mut Value, target: &ObjectRequest, patch: &Value) {
    let Some(manager) = request.query.get("fieldManager") else { return };
    let api_version = target.kind.api_version();
    let changed = if patch.is_null() { &*object } else { patch };
    let by = ManagedBy {
        manager,
        operation: "Update",
        api_version: &api_version,
        subresource: target.subresource.as_deref(),
        fields: field_set(changed),
    };
    record_manager(object, &by);
}

fn is_namespace(kind: &ResourceKind) -> bool {
    kind.group.is_empty() && kind.plural == "namespaces"
}
