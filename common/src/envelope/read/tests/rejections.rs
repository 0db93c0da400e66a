//! Every rejection of a v1 body names its field (or says it is not JSON, not an object,
//! or too large), and says what is wrong without echoing huge input.

use serde_json::json;

use super::{example_with, read, rejected_field, DESIGN_EXAMPLE};
use crate::envelope::{Envelope, EnvelopeError, MAX_BODY_BYTES};

#[test]
fn rejects_a_negative_or_garbage_retrace_intent() {
    for bad in [
        json!(-1),
        json!("-1"),
        json!("one"),
        json!(""),
        json!(1.5),
        json!(null),
        json!("4294967296"),
        json!(true),
    ] {
        let value = example_with("/MessageAttributes/retrace_intent", Some(bad.clone()));
        assert_eq!(rejected_field(&value), "MessageAttributes.retrace_intent", "{bad}");
    }
}

#[test]
fn rejects_what_is_not_an_envelope_naming_the_field() {
    let cases = [
        ("/MessageAttributes/event_type/Value", None, "MessageAttributes.event_type.Value"),
        ("/MessageAttributes/event_type/Value", Some(json!(5)), "MessageAttributes.event_type.Value"),
        ("/MessageAttributes/event_type/Value", Some(json!("a.b.c.d")), "MessageAttributes.event_type.Value"),
        (
            "/MessageAttributes/event_type/Value",
            Some(json!("a.b.evt.c.d")),
            "MessageAttributes.event_type.Value",
        ),
        ("/MessageAttributes/event_type", None, "MessageAttributes.event_type.Value"),
        ("/MessageAttributes/event_type", Some(json!([1])), "MessageAttributes.event_type"),
        ("/MessageAttributes", None, "MessageAttributes.event_type.Value"),
        ("/MessageAttributes", Some(json!("x")), "MessageAttributes"),
        ("/MessageAttributes/trace_id", Some(json!("not-a-uuid")), "MessageAttributes.trace_id"),
        (
            "/MessageAttributes/trace_id",
            Some(json!("{9a2ae9de-3f82-4f55-966b-47df50ff51ff}")),
            "MessageAttributes.trace_id",
        ),
        ("/MessageAttributes/trace_id", Some(json!(42)), "MessageAttributes.trace_id"),
        ("/MessageAttributes/published_on", Some(json!("yesterday")), "MessageAttributes.published_on"),
        ("/MessageAttributes/published_on", Some(json!(1672700520)), "MessageAttributes.published_on"),
        ("/Metadata", Some(json!([])), "Metadata"),
        ("/Metadata/host", Some(json!(1)), "Metadata.host"),
    ];
    for (pointer, replacement, field) in cases {
        let value = example_with(pointer, replacement.clone());
        assert_eq!(rejected_field(&value), field, "{pointer} = {replacement:?}");
    }
}

#[test]
fn rejection_reasons_say_what_is_wrong() {
    let value = example_with("/MessageAttributes/event_type/Value", Some(json!("a.b.c.d")));
    assert_eq!(
        read(&value).unwrap_err().to_string(),
        "MessageAttributes.event_type.Value is invalid: has 4 segments, expected 5: <company>.<app>.event.<client>.<action>"
    );
    let value = example_with("/MessageAttributes/event_type", None);
    assert_eq!(read(&value).unwrap_err().to_string(), "MessageAttributes.event_type.Value is missing");
    let value = example_with("/MessageAttributes/trace_id", Some(json!("x".repeat(10_000))));
    assert!(read(&value).unwrap_err().to_string().len() < 200, "bad input is not echoed in full");
}

#[test]
fn rejects_non_json_and_non_objects() {
    assert!(matches!(Envelope::from_json(b"{\"a\":"), Err(EnvelopeError::NotJson(_))));
    assert!(matches!(Envelope::from_json(b""), Err(EnvelopeError::NotJson(_))));
    assert_eq!(Envelope::from_json(b"[1, 2]"), Err(EnvelopeError::NotObject));
    assert_eq!(Envelope::from_json(b"\"text\""), Err(EnvelopeError::NotObject));
}

#[test]
fn rejects_one_byte_over_1_mib_before_parsing() {
    let too_big = vec![b' '; MAX_BODY_BYTES + 1];
    let error = Envelope::from_json(&too_big).unwrap_err();
    assert_eq!(error, EnvelopeError::TooLarge { size: MAX_BODY_BYTES + 1, limit: MAX_BODY_BYTES });
}

#[test]
fn accepts_exactly_1_mib() {
    let mut bytes = DESIGN_EXAMPLE.as_bytes().to_vec();
    bytes.resize(MAX_BODY_BYTES, b' ');
    assert!(Envelope::from_json(&bytes).is_ok());
}
