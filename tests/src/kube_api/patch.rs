//! JSON merge patch (RFC 7386) and a small server-side apply: merge the applied fields,
//! drop the fields the same manager applied last time but no longer does, and record the
//! manager in `metadata.managedFields`.

use serde_json::{json, Map, Value};

/// RFC 7386: objects merge recursively, `null` removes a key, anything else replaces.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let target = target.as_object_mut().expect("just made an object");
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// The paths an apply configuration sets, in `FieldsV1` shape (`{"f:metadata":{"f:labels":
/// {"f:a":{}}}}`). Lists are owned whole; identity fields the server sets are left out.
pub(crate) fn field_set(applied: &Value) -> Value {
    let mut fields = fields_of(applied);
    if let Some(top) = fields.as_object_mut() {
        top.remove("f:apiVersion");
        top.remove("f:kind");
        if let Some(meta) = top.get_mut("f:metadata").and_then(Value::as_object_mut) {
            for identity in [
                "name",
                "namespace",
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
                "managedFields",
            ] {
                meta.remove(&format!("f:{identity}"));
            }
            if meta.is_empty() {
                top.remove("f:metadata");
            }
        }
    }
    fields
}

fn fields_of(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (format!("f:{k}"), fields_of(v))).collect(),
        ),
        _ => json!({}),
    }
}

/// Removes from `object` every field in `previous` (what this manager applied before) that
/// is not in `current` (what it applies now), as server-side apply does.
pub(crate) fn remove_disowned(object: &mut Value, previous: &Value, current: &Value) {
    let (Some(object), Some(previous)) = (object.as_object_mut(), previous.as_object()) else {
        return;
    };
    for (field, prev_child) in previous {
        let Some(key) = field.strip_prefix("f:") else { continue };
        match current.get(field) {
            None => {
                object.remove(key);
            }
            Some(cur_child) => {
                let still_a_subtree = cur_child.as_object().is_some_and(|m| !m.is_empty());
                if still_a_subtree {
                    if let Some(child) = object.get_mut(key) {
                        remove_disowned(child, prev_child, cur_child);
                    }
                }
            }
        }
    }
}

/// One `metadata.managedFields` entry to record.
#[derive(Debug, Clone)]
pub(crate) struct ManagedBy<'a> {
    pub manager: &'a str,
    /// `Apply` or `Update`.
    pub operation: &'static str,
    pub api_version: &'a str,
    pub subresource: Option<&'a str>,
    pub fields: Value,
}

impl ManagedBy<'_> {
    fn same_slot(&self, entry: &Value) -> bool {
        entry["manager"] == self.manager
            && entry["operation"] == self.operation
            && entry.get("subresource").and_then(Value::as_str) == self.subresource
    }
}

/// The fields this manager last applied (or updated), from `metadata.managedFields`.
pub(crate) fn managed_fields_of(object: &Value, by: &ManagedBy<'_>) -> Option<Value> {
    let entries = object["metadata"]["managedFields"].as_array()?;
    entries.iter().find(|e| by.same_slot(e)).map(|e| e["fieldsV1"].clone())
}

/// Records `by` in `metadata.managedFields`, keeping the entry (and its time) untouched
/// when its fields did not change, so that a repeated apply is a no-op.
pub(crate) fn record_manager(object: &mut Value, by: &ManagedBy<'_>) {
    let mut entry = json!({
        "manager": by.manager,
        "operation": by.operation,
        "apiVersion": by.api_version,
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "fieldsType": "FieldsV1",
        "fieldsV1": by.fields,
    });
    if let Some(sub) = by.subresource {
        entry["subresource"] = json!(sub);
    }
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    let entries = object["metadata"]
        .as_object_mut()
        .expect("metadata is an object")
        .entry("managedFields")
        .or_insert_with(|| json!([]));
    if !entries.is_array() {
        *entries = json!([]);
    }
    let entries = entries.as_array_mut().expect("just made an array");
    match entries.iter_mut().find(|e| by.same_slot(e)) {
        Some(existing) if existing["fieldsV1"] == by.fields && existing["apiVersion"] == by.api_version => {}
        Some(existing) => *existing = entry,
        None => entries.push(entry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_patch_merges_objects_replaces_lists_and_removes_nulls() {
        let mut target = json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "gone": true});
        merge_patch(&mut target, &json!({"a": {"c": 3, "d": 4}, "l": [3], "gone": null}));
        assert_eq!(target, json!({"a": {"b": 1, "c": 3, "d": 4}, "l": [3]}));
    }

    #[test]
    fn the_field_set_leaves_out_identity_fields() {
        let applied = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "c1", "labels": {"a": "1"}}, "spec": {"l": [1]}});
        assert_eq!(
            field_set(&applied),
            json!({"f:metadata": {"f:labels": {"f:a": {}}}, "f:spec": {"f:l": {}}})
        );
    }

    #[test]
    fn a_field_no_longer_applied_is_removed_but_others_stay() {
        let mut object = json!({"metadata": {"labels": {"a": "1", "b": "2", "other": "x"}}});
        let previous = json!({"f:metadata": {"f:labels": {"f:a": {}, "f:b": {}}}});
        let current = json!({"f:metadata": {"f:labels": {"f:a": {}}}});
        remove_disowned(&mut object, &previous, &current);
        assert_eq!(object, json!({"metadata": {"labels": {"a": "1", "other": "x"}}}));
    }

    #[test]
    fn recording_the_same_fields_twice_keeps_the_entry_unchanged() {
        let by = ManagedBy {
            manager: "eda-provisioner",
            operation: "Apply",
            api_version: "v1",
            subresource: None,
            fields: json!({"f:spec": {}}),
        };
        let mut object = json!({"metadata": {}});
        record_manager(&mut object, &by);
        let first = object.clone();
        record_manager(&mut object, &by);
        assert_eq!(object, first);
        assert_eq!(managed_fields_of(&object, &by), Some(json!({"f:spec": {}})));
    }
}
