//! One step of a trace's timeline: what happened, who said so, and the body fields a person
//! reading the status needs (never the whole body, so the cache stays small).

use eda_common::Envelope;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

/// Body fields copied into a timeline entry when present (scalars only). The last five are a
/// `superseded`'s (DESIGN.md §8): the stale order and the newer order of the tenant that won.
const USEFUL_FIELDS: [&str; 21] = [
    "client",
    "namespace",
    "product",
    "environment",
    "hardware",
    "archtype",
    "release",
    "chart",
    "version",
    "revision",
    "dry_run",
    "error",
    "reason",
    "message",
    "type",
    "count",
    "order_id",
    "order_time",
    "newer_order_id",
    "newer_order_time",
    "newer_desired",
];

/// Longest string copied from a body field; longer ones are cut (a flood of huge errors stays cheap).
const MAX_FIELD_CHARS: usize = 512;

/// An event of a trace, as the timeline JSON and the SSE stream show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub trace_id: Uuid,
    pub event_type: String,
    pub action: String,
    pub app: String,
    /// `published_on` of the event, RFC 3339 UTC.
    pub time: String,
    pub message_id: String,
    pub retrace_intent: u32,
    /// The useful body fields (error, reason, namespace, release, a superseded's newer order, …).
    pub fields: Map<String, Value>,
}

impl TimelineEntry {
    /// The entry for an envelope delivered with `message_id`.
    pub fn from_envelope(envelope: &Envelope, message_id: &str) -> Self {
        let attributes = &envelope.attributes;
        let mut fields = Map::new();
        for key in USEFUL_FIELDS {
            let value = match envelope.body.get(key) {
                Some(Value::String(s)) => Value::String(cut(s)),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => v.clone(),
                _ => continue,
            };
            fields.insert(key.into(), value);
        }
        TimelineEntry {
            trace_id: attributes.trace_id,
            event_type: attributes.event_type.to_string(),
            action: attributes.event_type.action().to_owned(),
            app: attributes.event_type.app().to_owned(),
            time: eda_common::envelope::format_published_on(&attributes.published_on),
            message_id: message_id.to_owned(),
            retrace_intent: attributes.retrace_intent,
            fields,
        }
    }
}

impl TimelineEntry {
    /// The client the event is for: its event type's client segment
    /// (`<company>.<app>.event.<client>.<action>`).
    pub fn client(&self) -> Option<&str> {
        self.event_type.split('.').nth(3)
    }
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_FIELD_CHARS) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_entry_keeps_the_attributes_and_only_the_useful_scalar_fields() {
        let body = json!({"namespace": "c1", "release": "product-a", "error": "x".repeat(2000),
                          "values": {"big": true}, "revision": 3});
        let et = "mycompany.provisioner.event.c1.failed".parse().unwrap();
        let mut envelope = Envelope::new(et, Uuid::new_v4(), body.as_object().unwrap().clone());
        envelope.attributes.retrace_intent = 5;
        let entry = TimelineEntry::from_envelope(&envelope, "m1");
        assert_eq!((entry.action.as_str(), entry.app.as_str()), ("failed", "provisioner"));
        assert_eq!(entry.retrace_intent, 5);
        assert_eq!(entry.fields["release"], "product-a");
        assert_eq!(entry.fields["revision"], 3);
        assert!(!entry.fields.contains_key("values"));
        assert_eq!(entry.fields["error"].as_str().unwrap().chars().count(), MAX_FIELD_CHARS + 1);
    }

    #[test]
    fn a_superseded_entry_names_the_stale_order_and_the_newer_order_that_won() {
        let body = json!({"client": "c1", "namespace": "c1", "product": "product-a", "release": "product-a",
                          "order_id": "m-stale", "order_time": "2026-01-01T00:00:01.000000001Z",
                          "newer_order_id": "m-newer", "newer_order_time": "2026-01-01T00:00:02Z",
                          "newer_desired": "absent"});
        let et = "mycompany.provisioner.event.c1.superseded".parse().unwrap();
        let envelope = Envelope::new(et, Uuid::new_v4(), body.as_object().unwrap().clone());
        let entry = TimelineEntry::from_envelope(&envelope, "m-superseded");
        assert_eq!(entry.action, "superseded");
        assert_eq!(Value::Object(entry.fields), body, "every field of a superseded is kept");
    }
}
