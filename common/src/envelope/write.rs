//! Writing wire format v1, exactly: the shape of DESIGN.md §2, so the original system's
//! consumers read what this suite publishes without a change.

use serde_json::{Map, Value};

use super::read::{ATTRIBUTES, METADATA};
use super::{format_published_on, Envelope};

impl Envelope {
    /// Exact write: business fields first (in their order), then `MessageAttributes`
    /// (`event_type` as `{"Type": "String", "Value": …}`, `published_on` RFC 3339 UTC,
    /// `trace_id` hyphenated, `retrace_intent` a decimal string, then unknown keys), then
    /// `Metadata` (`host`, `origing`, `publisher` when present, then unknown keys).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_value()).expect("a JSON value always serializes")
    }

    /// [`to_json`](Self::to_json) as a value.
    pub fn to_value(&self) -> Value {
        // A business field named like a fixed object would be overwritten or would
        // shadow it on the next read: the typed parts win.
        let mut out: Map<String, Value> = self
            .body
            .iter()
            .filter(|(key, _)| *key != ATTRIBUTES && *key != METADATA)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();

        let attributes = &self.attributes;
        let mut event_type = Map::new();
        event_type.insert("Type".into(), "String".into());
        event_type.insert("Value".into(), attributes.event_type.as_str().into());
        let mut wire = Map::new();
        wire.insert("event_type".into(), event_type.into());
        wire.insert("published_on".into(), format_published_on(&attributes.published_on).into());
        wire.insert("trace_id".into(), attributes.trace_id.hyphenated().to_string().into());
        wire.insert("retrace_intent".into(), attributes.retrace_intent.to_string().into());
        append_extra(&mut wire, &attributes.extra, &ATTRIBUTE_KEYS);
        out.insert(ATTRIBUTES.into(), wire.into());

        let metadata = &self.metadata;
        let mut wire = Map::new();
        for (key, value) in
            [("host", &metadata.host), ("origing", &metadata.origin), ("publisher", &metadata.publisher)]
        {
            if let Some(value) = value {
                wire.insert(key.into(), value.as_str().into());
            }
        }
        append_extra(&mut wire, &metadata.extra, &METADATA_KEYS);
        out.insert(METADATA.into(), wire.into());
        Value::Object(out)
    }
}

/// Serializes as [`Envelope::to_value`], so an envelope can sit inside other JSON (a
/// trace timeline, a log line) in its wire form. There is no `Deserialize`: read with
/// [`Envelope::from_json`], which also applies the size limit and hashes the raw bytes.
impl serde::Serialize for Envelope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

const ATTRIBUTE_KEYS: [&str; 4] = ["event_type", "published_on", "trace_id", "retrace_intent"];
const METADATA_KEYS: [&str; 3] = ["host", "origing", "publisher"];

/// Unknown keys go after the known ones. An extra named like a known key is not
/// written, present or not: it would replace the typed field, or turn into it on the
/// next read.
fn append_extra(wire: &mut Map<String, Value>, extra: &Map<String, Value>, known: &[&str]) {
    for (key, value) in extra {
        if !known.contains(&key.as_str()) {
            wire.insert(key.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    fn seed() -> Envelope {
        let body = json!({
            "client": "cliente02", "namespace": "cliente02", "environment": "development",
            "archtype": "saas", "hardware": "dedicated", "product": "product-a",
        });
        let event_type = "mycompany.producer.event.cliente02.published".parse().unwrap();
        let trace_id = Uuid::parse_str("9a2ae9de-3f82-4f55-966b-47df50ff51ff").unwrap();
        let mut envelope = Envelope::new(event_type, trace_id, body.as_object().unwrap().clone());
        envelope.attributes.published_on = "2023-01-02T23:02:00.642883101Z".parse().unwrap();
        envelope.metadata.host = Some("hostname".into());
        envelope.metadata.origin = Some("Cloud".into());
        envelope.metadata.publisher = Some("producer".into());
        envelope
    }

    #[test]
    fn writes_the_design_shape_exactly() {
        let written = String::from_utf8(seed().to_json()).unwrap();
        let expected = concat!(
            r#"{"client":"cliente02","namespace":"cliente02","environment":"development","#,
            r#""archtype":"saas","hardware":"dedicated","product":"product-a","#,
            r#""MessageAttributes":{"event_type":{"Type":"String","Value":"mycompany.producer.event.cliente02.published"},"#,
            r#""published_on":"2023-01-02T23:02:00.642883101Z","#,
            r#""trace_id":"9a2ae9de-3f82-4f55-966b-47df50ff51ff","retrace_intent":"0"},"#,
            r#""Metadata":{"host":"hostname","origing":"Cloud","publisher":"producer"}}"#,
        );
        assert_eq!(written, expected);
    }

    #[test]
    fn writes_whole_seconds_without_a_fraction_and_counts_as_strings() {
        let mut envelope = seed();
        envelope.attributes.published_on = "2023-01-02T23:02:00Z".parse().unwrap();
        envelope.attributes.retrace_intent = 3;
        let value = envelope.to_value();
        assert_eq!(value["MessageAttributes"]["published_on"], "2023-01-02T23:02:00Z");
        assert_eq!(value["MessageAttributes"]["retrace_intent"], "3");
    }

    #[test]
    fn omits_absent_metadata_and_appends_extras_after_known_keys() {
        let mut envelope = seed();
        envelope.metadata = Default::default();
        envelope.metadata.extra.insert("region".into(), "eu".into());
        envelope.metadata.extra.insert("host".into(), "shadow".into());
        envelope.attributes.extra.insert("priority".into(), 5.into());
        envelope.attributes.extra.insert("trace_id".into(), "shadow".into());
        let value = envelope.to_value();
        assert_eq!(value["Metadata"], json!({"region": "eu"}));
        let attributes = value["MessageAttributes"].as_object().unwrap();
        let keys: Vec<&str> = attributes.keys().map(String::as_str).collect();
        assert_eq!(keys, ["event_type", "published_on", "trace_id", "retrace_intent", "priority"]);
        assert_eq!(attributes["trace_id"], "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
    }

    #[test]
    fn body_fields_named_like_the_fixed_objects_are_not_written() {
        let mut envelope = seed();
        envelope.body.insert("Metadata".into(), "spoof".into());
        let value = envelope.to_value();
        assert_eq!(value["Metadata"]["publisher"], "producer");
        assert_eq!(value.as_object().unwrap().keys().next_back().unwrap(), "Metadata");
    }

    #[test]
    fn serializes_as_the_wire_form() {
        let envelope = seed();
        let nested = serde_json::to_value(json!({ "event": envelope })).unwrap();
        assert_eq!(nested["event"], envelope.to_value());
    }

    #[test]
    fn an_empty_envelope_still_has_both_fixed_objects() {
        let mut envelope = seed();
        envelope.body.clear();
        envelope.metadata = Default::default();
        let value = envelope.to_value();
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["MessageAttributes", "Metadata"]);
    }
}
