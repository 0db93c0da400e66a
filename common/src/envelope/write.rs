//! Writing wire format v1, exactly: the shape of DESIGN.md §2, so the original system's
//! consumers read what this suite publishes without a change.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::read::{ATTRIBUTES, METADATA};
use super::{format_published_on, Envelope, MessageAttributes, Metadata};

impl Envelope {
    /// Exact write: business fields first (in their order), then `MessageAttributes`
    /// (`event_type` as `{"Type": "String", "Value": …}`, `published_on` RFC 3339 UTC,
    /// `trace_id` hyphenated, `retrace_intent` a decimal string, then unknown keys), then
    /// `Metadata` (`host`, `origing`, `publisher` when present, then unknown keys).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope always serializes")
    }

    /// [`to_json`](Self::to_json) as a value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("an envelope always serializes")
    }
}

/// The wire form, streamed: no intermediate value is built, so writing an envelope (every
/// publish, every row the dbwriter stores) costs one pass. An envelope can also sit inside
/// other JSON (a trace timeline, a log line) this way. There is no `Deserialize`: read with
/// [`Envelope::from_json`], which also applies the size limit and hashes the raw bytes.
impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        // A business field named like a fixed object would be overwritten or would
        // shadow it on the next read: the typed parts win.
        for (key, value) in &self.body {
            if key != ATTRIBUTES && key != METADATA {
                map.serialize_entry(key, value)?;
            }
        }
        map.serialize_entry(ATTRIBUTES, &WireAttributes(&self.attributes))?;
        map.serialize_entry(METADATA, &WireMetadata(&self.metadata))?;
        map.end()
    }
}

struct WireAttributes<'a>(&'a MessageAttributes);

impl Serialize for WireAttributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let attributes = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("event_type", &WireEventType(attributes.event_type.as_str()))?;
        map.serialize_entry("published_on", &format_published_on(&attributes.published_on))?;
        let mut uuid = uuid::Uuid::encode_buffer();
        map.serialize_entry("trace_id", &*attributes.trace_id.hyphenated().encode_lower(&mut uuid))?;
        map.serialize_entry("retrace_intent", &attributes.retrace_intent.to_string())?;
        serialize_extra(&mut map, &attributes.extra, &ATTRIBUTE_KEYS)?;
        map.end()
    }
}

struct WireEventType<'a>(&'a str);

impl Serialize for WireEventType<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("Type", "String")?;
        map.serialize_entry("Value", self.0)?;
        map.end()
    }
}

struct WireMetadata<'a>(&'a Metadata);

impl Serialize for WireMetadata<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let metadata = self.0;
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in
            [("host", &metadata.host), ("origing", &metadata.origin), ("publisher", &metadata.publisher)]
        {
            if let Some(value) = value {
                map.serialize_entry(key, value)?;
            }
        }
        serialize_extra(&mut map, &metadata.extra, &METADATA_KEYS)?;
        map.end()
    }
}

const ATTRIBUTE_KEYS: [&str; 4] = ["event_type", "published_on", "trace_id", "retrace_intent"];
const METADATA_KEYS: [&str; 3] = ["host", "origing", "publisher"];

/// Unknown keys go after the known ones. An extra named like a known key is not
/// written, present or not: it would replace the typed field, or turn into it on the
/// next read.
fn serialize_extra<M: SerializeMap>(
    map: &mut M,
    extra: &Map<String, Value>,
    known: &[&str],
) -> Result<(), M::Error> {
    for (key, value) in extra {
        if !known.contains(&key.as_str()) {
            map.serialize_entry(key, value)?;
        }
    }
    Ok(())
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
    fn the_value_and_the_bytes_are_the_same_json() {
        let mut envelope = seed();
        envelope.attributes.extra.insert("priority".into(), json!({"level": 5, "why": ["a", 1.5]}));
        envelope.metadata.extra.insert("region".into(), "eu".into());
        let bytes = String::from_utf8(envelope.to_json()).unwrap();
        assert_eq!(serde_json::to_string(&envelope.to_value()).unwrap(), bytes);
        assert!(bytes.ends_with(r#""publisher":"producer","region":"eu"}}"#), "{bytes}");
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
