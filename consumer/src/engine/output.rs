//! What business code answered, turned into a follow-up event or a classified failure.

use eda_common::delivery::{HandlerError, Message};
use eda_common::{Envelope, EventType};
use serde_json::{Map, Value};

/// Cut to size (shared with the runtime: `eda_common::text`).
pub use eda_common::text::{excerpt, tail};

/// Action of the follow-up when the code answered a JSON object but no `--emit` was given.
pub const DEFAULT_ACTION: &str = "processed";
/// How much of a bad answer is quoted in the dead-letter reason.
const EXCERPT_BYTES: usize = 512;

/// Reads an answer: nothing (or `null`) → no follow-up; a JSON object → its body; anything
/// else is a broken contract, never retried, parked with an excerpt.
pub fn parse_answer(bytes: &[u8], source: &str) -> Result<Option<Map<String, Value>>, HandlerError> {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(Value::Null) => Ok(None),
        Ok(other) => Err(HandlerError::permanent(format!(
            "{source} is JSON but not an object (a {}): {}",
            json_kind(&other),
            excerpt(trimmed, EXCERPT_BYTES)
        ))),
        Err(e) => Err(HandlerError::permanent(format!(
            "{source} is not JSON ({e}): {}",
            excerpt(trimmed, EXCERPT_BYTES)
        ))),
    }
}

/// `<company>.<app>.event.<client>.<action>` with the answer as body, in the cause's trace.
pub fn follow_up(
    company: &str,
    app: &str,
    action: &str,
    cause: &Message,
    body: Map<String, Value>,
) -> Result<Envelope, HandlerError> {
    let client = cause.envelope.event_type().client();
    let event_type = EventType::new(company, app, client, action).map_err(HandlerError::permanent)?;
    let mut envelope = Envelope::new(event_type, cause.envelope.trace_id(), body);
    envelope.metadata.publisher = Some(app.to_owned());
    Ok(envelope)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_null_answers_mean_no_follow_up() {
        assert_eq!(parse_answer(b"", "stdout").unwrap(), None);
        assert_eq!(parse_answer(b"  \n", "stdout").unwrap(), None);
        assert_eq!(parse_answer(b"null\n", "stdout").unwrap(), None);
    }

    #[test]
    fn an_object_answer_is_the_follow_up_body() {
        let body = parse_answer(b"{\"a\": 1}\n", "stdout").unwrap().unwrap();
        assert_eq!(body["a"], 1);
    }

    #[test]
    fn other_answers_are_permanent_failures_naming_the_source() {
        let e = parse_answer(b"[1,2]", "stdout").unwrap_err();
        assert!(!e.is_transient());
        assert!(e.reason().contains("stdout is JSON but not an object (a array)"), "{e}");
        let e = parse_answer(b"done!", "the response body").unwrap_err();
        assert!(e.reason().starts_with("the response body is not JSON"), "{e}");
    }
}
