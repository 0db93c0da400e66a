//! Reading wire format v1, liberally: whatever the original system's publishers send is
//! understood, unknown fields are kept, and only what no service could act on is refused.

use chrono::Utc;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    json_type, parse_published_on, published_on_form, quote, stable_trace_id, Envelope, EnvelopeError,
    MessageAttributes, Metadata, PublishedOnForm, MAX_BODY_BYTES,
};

pub(super) const ATTRIBUTES: &str = "MessageAttributes";
pub(super) const METADATA: &str = "Metadata";
const EVENT_TYPE_VALUE: &str = "MessageAttributes.event_type.Value";

impl Envelope {
    /// Liberal read of wire format v1 JSON (no CloudEvents detection).
    ///
    /// `retrace_intent` may be a string or a number (missing: 0); `published_on` RFC 3339
    /// or legacy (see [`parse_published_on`]; missing: the time of reading); `event_type`
    /// an object with `Value` or a plain string; `Metadata.origin` stands for `origing`;
    /// a missing `trace_id` becomes [`stable_trace_id`] of these bytes. `null` counts as
    /// absent for `Metadata` and its fields only.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        check_size(bytes)?;
        read_object(parse_object(bytes)?, bytes)
    }
}

pub(super) fn check_size(bytes: &[u8]) -> Result<(), EnvelopeError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(EnvelopeError::TooLarge { size: bytes.len(), limit: MAX_BODY_BYTES });
    }
    Ok(())
}

pub(super) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, EnvelopeError> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(EnvelopeError::NotObject),
        Err(error) => Err(EnvelopeError::not_json(bytes, &error)),
    }
}

/// Splits a v1 object into its parts; `raw` is the message as received, hashed for a
/// missing trace id.
pub(super) fn read_object(mut body: Map<String, Value>, raw: &[u8]) -> Result<Envelope, EnvelopeError> {
    let attributes = match body.shift_remove(ATTRIBUTES) {
        None => return Err(EnvelopeError::missing(EVENT_TYPE_VALUE)),
        Some(Value::Object(map)) => read_attributes(map, raw)?,
        Some(other) => return Err(expected_object(ATTRIBUTES, &other)),
    };
    let metadata = match body.shift_remove(METADATA) {
        None | Some(Value::Null) => Metadata::default(),
        Some(Value::Object(map)) => read_metadata(map)?,
        Some(other) => return Err(expected_object(METADATA, &other)),
    };
    Ok(Envelope { body, attributes, metadata })
}

fn read_attributes(mut map: Map<String, Value>, raw: &[u8]) -> Result<MessageAttributes, EnvelopeError> {
    let event_type = match map.shift_remove("event_type") {
        None | Some(Value::Null) => return Err(EnvelopeError::missing(EVENT_TYPE_VALUE)),
        Some(Value::String(text)) => text.parse()?,
        // `Type` is always "String" in practice and carries nothing: it is not checked.
        Some(Value::Object(mut object)) => match object.shift_remove("Value") {
            None | Some(Value::Null) => return Err(EnvelopeError::missing(EVENT_TYPE_VALUE)),
            Some(Value::String(text)) => text.parse()?,
            Some(other) => return Err(expected_string(EVENT_TYPE_VALUE, &other)),
        },
        Some(other) => {
            return Err(EnvelopeError::invalid(
                "MessageAttributes.event_type",
                format!("is {}, expected {{\"Type\": \"String\", \"Value\": \"…\"}}", json_type(&other)),
            ))
        }
    };
    let (published_on, published_on_form) = match map.shift_remove("published_on") {
        None => (Utc::now(), PublishedOnForm::Missing),
        Some(Value::String(text)) => (
            parse_published_on(&text)
                .map_err(|reason| EnvelopeError::invalid("MessageAttributes.published_on", reason))?,
            published_on_form(&text),
        ),
        Some(other) => return Err(expected_string("MessageAttributes.published_on", &other)),
    };
    let trace_id = match map.shift_remove("trace_id") {
        None => stable_trace_id(raw),
        Some(Value::String(text)) => parse_uuid(&text)?,
        Some(other) => return Err(expected_string("MessageAttributes.trace_id", &other)),
    };
    let retrace_intent = match map.shift_remove("retrace_intent") {
        None => 0,
        Some(value) => parse_retrace_intent(&value)?,
    };
    Ok(MessageAttributes {
        event_type,
        published_on,
        published_on_form,
        trace_id,
        retrace_intent,
        extra: map,
    })
}

/// A UUID as publishers write it: hyphenated, or 32 hex digits as in a traceparent.
/// (Braced and `urn:uuid:` forms, which `Uuid::parse_str` also takes, are not wire forms.)
fn parse_uuid(text: &str) -> Result<Uuid, EnvelopeError> {
    let parsed = matches!(text.len(), 32 | 36).then(|| Uuid::try_parse(text).ok()).flatten();
    parsed.ok_or_else(|| {
        EnvelopeError::invalid(
            "MessageAttributes.trace_id",
            format!("{} is not a UUID (like 9a2ae9de-3f82-4f55-966b-47df50ff51ff)", quote(text)),
        )
    })
}

/// A non-negative count as a string of digits ("0") or a JSON number (0, or 1.0).
fn parse_retrace_intent(value: &Value) -> Result<u32, EnvelopeError> {
    let count = match value {
        Value::String(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            text.parse().ok()
        }
        Value::Number(number) => match number.as_u64() {
            Some(n) => u32::try_from(n).ok(),
            // JSON Schema counts 1.0 as an integer, so this reader does too.
            None => number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(f))
                .map(|f| f as u32),
        },
        _ => None,
    };
    count.ok_or_else(|| {
        let shown = match value {
            Value::String(text) => quote(text),
            Value::Number(number) => number.to_string(),
            other => json_type(other).to_owned(),
        };
        EnvelopeError::invalid(
            "MessageAttributes.retrace_intent",
            format!(
                "{shown} is not a count; expected a non-negative integer or a string of digits, like \"0\""
            ),
        )
    })
}

fn read_metadata(mut map: Map<String, Value>) -> Result<Metadata, EnvelopeError> {
    let host = take_string(&mut map, "host")?;
    let publisher = take_string(&mut map, "publisher")?;
    // `origing` is canonical; an `origin` next to it stays in `extra`, so nothing is lost.
    let origin = match take_string(&mut map, "origing")? {
        Some(origin) => Some(origin),
        None => take_string(&mut map, "origin")?,
    };
    Ok(Metadata { host, origin, publisher, extra: map })
}

fn take_string(map: &mut Map<String, Value>, key: &str) -> Result<Option<String>, EnvelopeError> {
    match map.shift_remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(expected_string(&format!("{METADATA}.{key}"), &other)),
    }
}

fn expected_string(field: &str, value: &Value) -> EnvelopeError {
    EnvelopeError::invalid(field, format!("is {}, expected a string", json_type(value)))
}

fn expected_object(field: &str, value: &Value) -> EnvelopeError {
    EnvelopeError::invalid(field, format!("is {}, expected an object", json_type(value)))
}

#[cfg(test)]
mod tests;
