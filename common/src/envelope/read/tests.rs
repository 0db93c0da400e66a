//! Liberal reading of wire format v1, and every rejection naming its field.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::envelope::{stable_trace_id, Envelope, EnvelopeError};

mod rejections;

const DESIGN_EXAMPLE: &str = r#"{
  "client": "cliente02", "namespace": "cliente02", "environment": "development",
  "archtype": "saas", "hardware": "dedicated", "product": "product-a",
  "MessageAttributes": {
    "event_type": { "Type": "String", "Value": "mycompany.producer.event.cliente02.published" },
    "published_on": "2023.01.2.23.02.642883101",
    "trace_id": "9a2ae9de-3f82-4f55-966b-47df50ff51ff",
    "retrace_intent": "0"
  },
  "Metadata": { "host": "hostname", "origing": "Cloud", "publisher": "producer" }
}"#;

fn read(value: &Value) -> Result<Envelope, EnvelopeError> {
    Envelope::from_json(&serde_json::to_vec(value).unwrap())
}

/// The design example with one change at a JSON pointer (`None` removes the field).
fn example_with(pointer: &str, replacement: Option<Value>) -> Value {
    let mut value: Value = serde_json::from_str(DESIGN_EXAMPLE).unwrap();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = value.pointer_mut(parent).unwrap().as_object_mut().unwrap();
    match replacement {
        Some(new) => parent.insert(key.to_owned(), new),
        None => parent.shift_remove(key),
    };
    value
}

fn rejected_field(value: &Value) -> String {
    let error = read(value).unwrap_err();
    error.field().unwrap_or_else(|| panic!("{error} names no field")).to_owned()
}

#[test]
fn reads_the_design_example() {
    let envelope = Envelope::from_json(DESIGN_EXAMPLE.as_bytes()).unwrap();
    assert_eq!(envelope.body_str("client"), Some("cliente02"));
    assert_eq!(envelope.body.len(), 6);
    assert_eq!(envelope.event_type().as_str(), "mycompany.producer.event.cliente02.published");
    assert_eq!(envelope.trace_id().to_string(), "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
    assert_eq!(envelope.attributes.retrace_intent, 0);
    assert_eq!(envelope.attributes.published_on.to_rfc3339(), "2023-01-02T23:02:00.642883101+00:00");
    assert_eq!(envelope.metadata.origin.as_deref(), Some("Cloud"));
    assert_eq!(envelope.metadata.host.as_deref(), Some("hostname"));
    assert_eq!(envelope.metadata.publisher.as_deref(), Some("producer"));
}

#[test]
fn keeps_business_field_order() {
    let envelope = Envelope::from_json(DESIGN_EXAMPLE.as_bytes()).unwrap();
    let keys: Vec<&str> = envelope.body.keys().map(String::as_str).collect();
    assert_eq!(keys, ["client", "namespace", "environment", "archtype", "hardware", "product"]);
}

#[test]
fn reads_retrace_intent_as_a_string_or_a_number() {
    for (given, expected) in [(json!("3"), 3), (json!(3), 3), (json!(2.0), 2), (json!("007"), 7)] {
        let envelope = read(&example_with("/MessageAttributes/retrace_intent", Some(given))).unwrap();
        assert_eq!(envelope.attributes.retrace_intent, expected);
    }
    let envelope = read(&example_with("/MessageAttributes/retrace_intent", None)).unwrap();
    assert_eq!(envelope.attributes.retrace_intent, 0);
}

#[test]
fn reads_published_on_as_rfc3339_and_defaults_it_to_now() {
    let value = example_with("/MessageAttributes/published_on", Some(json!("2023-01-03T00:02:00+01:00")));
    let envelope = read(&value).unwrap();
    assert_eq!(envelope.attributes.published_on.to_rfc3339(), "2023-01-02T23:02:00+00:00");
    let before = chrono::Utc::now();
    let envelope = read(&example_with("/MessageAttributes/published_on", None)).unwrap();
    assert!(envelope.attributes.published_on >= before);
}

#[test]
fn accepts_a_plain_string_event_type_and_a_missing_type_tag() {
    let plain = json!("acme.legacy.event.c1.published");
    let envelope = read(&example_with("/MessageAttributes/event_type", Some(plain))).unwrap();
    assert_eq!(envelope.event_type().company(), "acme");
    let envelope = read(&example_with("/MessageAttributes/event_type/Type", None)).unwrap();
    assert_eq!(envelope.event_type().action(), "published");
}

#[test]
fn reads_origin_as_an_alias_of_origing() {
    let value =
        json!({"MessageAttributes": {"event_type": "a.b.event.c.d"}, "Metadata": {"origin": "On-Prem"}});
    assert_eq!(read(&value).unwrap().metadata.origin.as_deref(), Some("On-Prem"));
    let both = json!({"MessageAttributes": {"event_type": "a.b.event.c.d"}, "Metadata": {"origin": "x", "origing": "y"}});
    let envelope = read(&both).unwrap();
    assert_eq!(envelope.metadata.origin.as_deref(), Some("y"));
    assert_eq!(envelope.metadata.extra["origin"], "x");
}

#[test]
fn missing_or_null_metadata_is_empty() {
    let envelope = read(&example_with("/Metadata", None)).unwrap();
    assert_eq!(envelope.metadata, Default::default());
    let envelope = read(&example_with("/Metadata", Some(Value::Null))).unwrap();
    assert_eq!(envelope.metadata, Default::default());
}

#[test]
fn keeps_unknown_fields_at_all_three_levels_and_writes_them_back() {
    let mut value = example_with("/region", Some(json!({"zone": "b"})));
    value["MessageAttributes"]["priority"] = json!(5);
    value["Metadata"]["version"] = json!("1.2.3");
    let envelope = read(&value).unwrap();
    assert_eq!(envelope.body["region"], json!({"zone": "b"}));
    assert_eq!(envelope.attributes.extra["priority"], 5);
    assert_eq!(envelope.metadata.extra["version"], "1.2.3");
    let written = envelope.to_value();
    assert_eq!(written["region"], json!({"zone": "b"}));
    assert_eq!(written["MessageAttributes"]["priority"], 5);
    assert_eq!(written["Metadata"]["version"], "1.2.3");
    assert_eq!(Envelope::from_json(&envelope.to_json()).unwrap(), envelope);
}

#[test]
fn a_missing_trace_id_is_stable_for_the_same_bytes() {
    let bytes = serde_json::to_vec(&example_with("/MessageAttributes/trace_id", None)).unwrap();
    let first = Envelope::from_json(&bytes).unwrap().trace_id();
    assert_eq!(first, Envelope::from_json(&bytes).unwrap().trace_id());
    assert_eq!(first, stable_trace_id(&bytes));
    assert_eq!(first.get_version_num(), 8);
    let mut other = example_with("/MessageAttributes/trace_id", None);
    other["client"] = json!("cliente03");
    let other = serde_json::to_vec(&other).unwrap();
    assert_ne!(first, Envelope::from_json(&other).unwrap().trace_id());
}

#[test]
fn reads_a_trace_id_in_simple_hex_form() {
    let value = example_with("/MessageAttributes/trace_id", Some(json!("9a2ae9de3f824f55966b47df50ff51ff")));
    let expected = Uuid::parse_str("9a2ae9de-3f82-4f55-966b-47df50ff51ff").unwrap();
    assert_eq!(read(&value).unwrap().trace_id(), expected);
}

/// Found by fuzzing: without exact float parsing a business number drifted by one ULP on each
/// pass through the suite (6.666666666666668e108 came back as …667e108).
#[test]
fn numbers_in_business_fields_survive_any_number_of_round_trips() {
    let text = r#"{"replicas":6666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666660,"ratio":0.1,"MessageAttributes":{"event_type":{"Value":"acme.portal.event.c1.published"}}}"#;
    let once = Envelope::from_json(text.as_bytes()).unwrap().to_json();
    let twice = Envelope::from_json(&once).unwrap().to_json();
    assert_eq!(String::from_utf8(twice).unwrap(), String::from_utf8(once).unwrap());
}
