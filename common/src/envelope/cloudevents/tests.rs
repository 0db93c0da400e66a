//! CloudEvents binary (three header conventions) and structured mode in, `ce-` headers out.

use serde_json::json;
use uuid::Uuid;

use super::cloudevent_headers;
use crate::envelope::{
    format_published_on, stable_trace_id, trace_id_from_traceparent, Envelope, EnvelopeError, Headers,
    MAX_BODY_BYTES,
};

const TRACEPARENT: &str = "00-9a2ae9de3f824f55966b47df50ff51ff-00f067aa0ba902b7-01";
const TRACE_ID: &str = "9a2ae9de-3f82-4f55-966b-47df50ff51ff";
const DATA: &[u8] = br#"{"client":"cliente02","product":"product-a"}"#;

fn headers(prefix: &str, attributes: &[(&str, &str)]) -> Headers {
    attributes.iter().map(|(name, value)| (format!("{prefix}{name}"), (*value).to_owned())).collect()
}

fn full(prefix: &str) -> Headers {
    headers(
        prefix,
        &[
            ("specversion", "1.0"),
            ("id", "msg-1"),
            ("type", "acme.shop.event.cliente02.published"),
            ("source", "/shop"),
            ("time", "2023-01-02T23:02:00Z"),
            ("traceparent", TRACEPARENT),
        ],
    )
}

fn missing_field(body: &[u8], content_type: Option<&str>, headers: &Headers) -> String {
    match Envelope::decode(body, content_type, headers) {
        Err(EnvelopeError::Missing { field }) => field,
        other => panic!("expected a missing field, got {other:?}"),
    }
}

#[test]
fn reads_binary_mode_under_every_header_convention() {
    for prefix in ["ce-", "CE-", "cloudEvents_", "cloudEvents:"] {
        let decoded = Envelope::decode(DATA, Some("application/json"), &full(prefix)).unwrap();
        assert_eq!(decoded.cloudevent_id.as_deref(), Some("msg-1"), "{prefix}");
        let envelope = decoded.envelope;
        assert_eq!(envelope.event_type().as_str(), "acme.shop.event.cliente02.published");
        assert_eq!(envelope.trace_id().to_string(), TRACE_ID);
        assert_eq!(format_published_on(&envelope.attributes.published_on), "2023-01-02T23:02:00Z");
        assert_eq!(envelope.attributes.retrace_intent, 0);
        assert_eq!(envelope.metadata.publisher.as_deref(), Some("/shop"));
        assert_eq!(envelope.body_str("product"), Some("product-a"));
    }
}

#[test]
fn reads_structured_mode() {
    let event = json!({
        "specversion": "1.0", "id": "msg-2", "type": "acme.shop.event.c1.cancelled",
        "source": "/shop", "traceparent": TRACEPARENT, "time": "2023-01-03T00:02:00+01:00",
        "datacontenttype": "application/json", "data": {"client": "c1"},
    });
    let body = serde_json::to_vec(&event).unwrap();
    let ct = Some("application/cloudevents+json; charset=utf-8");
    let decoded = Envelope::decode(&body, ct, &Headers::new()).unwrap();
    assert_eq!(decoded.cloudevent_id.as_deref(), Some("msg-2"));
    assert_eq!(decoded.envelope.event_type().action(), "cancelled");
    assert_eq!(decoded.envelope.trace_id().to_string(), TRACE_ID);
    assert_eq!(format_published_on(&decoded.envelope.attributes.published_on), "2023-01-02T23:02:00Z");
    assert_eq!(decoded.envelope.body, *json!({"client": "c1"}).as_object().unwrap());
}

#[test]
fn reports_missing_required_attributes_by_their_header_name() {
    for (name, prefix) in [("type", "ce-"), ("id", "cloudEvents_"), ("type", "cloudEvents:")] {
        let mut headers = full(prefix);
        headers.remove(&format!("{prefix}{name}"));
        assert_eq!(missing_field(DATA, None, &headers), format!("{prefix}{name}"));
    }
    let event = serde_json::to_vec(&json!({"id": "1", "type": "a.b.event.c.d"})).unwrap();
    assert_eq!(missing_field(&event, Some("application/cloudevents+json"), &Headers::new()), "specversion");
}

#[test]
fn a_bad_type_or_traceparent_names_its_header() {
    let mut headers = full("ce-");
    headers.insert("ce-type".into(), "com.example.thing".into());
    let error = Envelope::decode(DATA, None, &headers).unwrap_err();
    assert_eq!(error.field(), Some("ce-type"));
    assert!(error.to_string().contains("has 3 segments"), "{error}");
    let mut headers = full("cloudEvents_");
    headers.insert("cloudEvents_traceparent".into(), "nope".into());
    let error = Envelope::decode(DATA, None, &headers).unwrap_err();
    assert_eq!(error.field(), Some("cloudEvents_traceparent"));
}

#[test]
fn without_traceparent_the_trace_id_is_stable_per_body() {
    let mut headers = full("ce-");
    headers.remove("ce-traceparent");
    headers.remove("ce-time");
    let decoded = Envelope::decode(DATA, None, &headers).unwrap();
    assert_eq!(decoded.envelope.trace_id(), stable_trace_id(DATA));
}

#[test]
fn binary_data_must_be_a_json_object_or_empty() {
    assert_eq!(Envelope::decode(b"[1]", None, &full("ce-")), Err(EnvelopeError::NotObject));
    assert!(matches!(Envelope::decode(b"<xml/>", None, &full("ce-")), Err(EnvelopeError::NotJson(_))));
    let decoded = Envelope::decode(b"", None, &full("ce-")).unwrap();
    assert!(decoded.envelope.body.is_empty());
}

#[test]
fn an_inner_v1_envelope_is_authoritative_and_filled_from_the_cloudevent() {
    let inner = json!({
        "client": "cliente02",
        "MessageAttributes": {"event_type": {"Type": "String", "Value": "mycompany.producer.event.cliente02.published"},
                              "retrace_intent": "2"},
        "Metadata": {"host": "h"},
    });
    let body = serde_json::to_vec(&inner).unwrap();
    let decoded = Envelope::decode(&body, Some("application/json"), &full("ce-")).unwrap();
    let envelope = decoded.envelope;
    assert_eq!(decoded.cloudevent_id.as_deref(), Some("msg-1"));
    assert_eq!(envelope.event_type().app(), "producer", "the inner event type wins over ce-type");
    assert_eq!(envelope.attributes.retrace_intent, 2);
    assert_eq!(envelope.trace_id().to_string(), TRACE_ID, "filled from ce-traceparent");
    assert_eq!(format_published_on(&envelope.attributes.published_on), "2023-01-02T23:02:00Z");
    assert_eq!(envelope.metadata.host.as_deref(), Some("h"));
    assert_eq!(envelope.metadata.publisher.as_deref(), Some("/shop"));
    assert_eq!(envelope.body_str("client"), Some("cliente02"));
}

#[test]
fn without_cloudevent_markers_it_reads_wire_format_v1() {
    let body = br#"{"MessageAttributes":{"event_type":"a.b.event.c.d"}}"#;
    let mut headers = Headers::new();
    headers.insert("ce-type".into(), "ignored: no specversion means not binary mode".into());
    let decoded = Envelope::decode(body, Some("application/json"), &headers).unwrap();
    assert_eq!(decoded.cloudevent_id, None);
    assert_eq!(decoded.envelope.event_type().as_str(), "a.b.event.c.d");
}

#[test]
fn the_size_limit_applies_to_every_mode() {
    let too_big = vec![b' '; MAX_BODY_BYTES + 1];
    for (ct, headers) in
        [(None, Headers::new()), (None, full("ce-")), (Some("application/cloudevents+json"), Headers::new())]
    {
        let error = Envelope::decode(&too_big, ct, &headers).unwrap_err();
        assert!(matches!(error, EnvelopeError::TooLarge { .. }));
    }
}

#[test]
fn writes_the_binary_mode_headers_that_read_back_to_the_same_envelope() {
    let event_type = "mycompany.producer.event.cliente02.published".parse().unwrap();
    let trace_id = Uuid::parse_str(TRACE_ID).unwrap();
    let mut envelope = Envelope::new(event_type, trace_id, serde_json::Map::new());
    envelope.metadata.publisher = Some("producer".into());
    let written = cloudevent_headers(&envelope, "msg-9", "producer");
    let names: Vec<&str> = written.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["ce-specversion", "ce-id", "ce-type", "ce-source", "ce-time", "ce-traceparent"]);
    let headers: Headers = written.into_iter().collect();
    assert_eq!(headers["ce-specversion"], "1.0");
    assert_eq!(headers["ce-id"], "msg-9");
    assert_eq!(headers["ce-type"], "mycompany.producer.event.cliente02.published");
    assert_eq!(headers["ce-source"], "producer");
    assert_eq!(headers["ce-time"], format_published_on(&envelope.attributes.published_on));
    assert_eq!(trace_id_from_traceparent(&headers["ce-traceparent"]).unwrap(), trace_id);

    let decoded = Envelope::decode(&envelope.to_json(), Some("application/json"), &headers).unwrap();
    assert_eq!(decoded.cloudevent_id.as_deref(), Some("msg-9"));
    assert_eq!(decoded.envelope, envelope);
}
