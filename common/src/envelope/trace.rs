//! Trace ids and message ids: W3C `traceparent` in and out, and the stable ids given to
//! foreign messages that arrive without one, so every replay of them joins the same trace
//! and is deduplicated as the same message.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::EnvelopeError;

/// `00-<uuid simple hex>-<16 hex digits derived deterministically from span_seed via sha256>-01`.
///
/// The trace id's 128 bits are the UUID's, so OpenTelemetry tools and the `trace_id`
/// field name the same trace. The span id is the first 8 bytes of SHA-256(`span_seed`):
/// publishing the same message (seeded by its message id) twice yields the same span.
/// Flags `01`: sampled.
pub fn traceparent(trace_id: Uuid, span_seed: &str) -> String {
    let mut span = [0u8; 8];
    span.copy_from_slice(&Sha256::digest(span_seed.as_bytes())[..8]);
    // W3C forbids an all-zero span id; a hash hitting it is near impossible, but cheap to avoid.
    if span == [0; 8] {
        span[7] = 1;
    }
    format!("00-{}-{}-01", trace_id.simple(), hex::encode(span))
}

/// The trace id carried by a W3C `traceparent` header (errors name the field `traceparent`).
pub fn trace_id_from_traceparent(s: &str) -> Result<Uuid, EnvelopeError> {
    parse_traceparent("traceparent", s)
}

/// As [`trace_id_from_traceparent`], naming `field` (`ce-traceparent`, …) in the error.
pub(crate) fn parse_traceparent(field: &str, s: &str) -> Result<Uuid, EnvelopeError> {
    let invalid = |reason: &str| {
        EnvelopeError::invalid(
            field,
            format!("{reason}; expected 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>"),
        )
    };
    let parts: Vec<&str> = s.trim().split('-').collect();
    let is_hex = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_hexdigit());
    // Version 00 has exactly four parts; later versions may append more (W3C: parse what you know).
    let known_parts = match parts.first() {
        Some(&"00") => parts.len() == 4,
        Some(version) => is_hex(version, 2) && *version != "ff" && parts.len() >= 4,
        None => false,
    };
    if !known_parts || !is_hex(parts[0], 2) || !is_hex(parts[3], 2) {
        return Err(invalid("is not a traceparent"));
    }
    if !is_hex(parts[1], 32) || !is_hex(parts[2], 16) {
        return Err(invalid("has a trace id or span id of the wrong length or with non-hex digits"));
    }
    if parts[1].bytes().all(|b| b == b'0') {
        return Err(invalid("has the all-zero trace id, which W3C reserves as invalid"));
    }
    Uuid::try_parse(parts[1]).map_err(|e| invalid(&e.to_string()))
}

/// A stable trace id for a message that arrived without one: a version 8 (custom) UUID
/// from the first 16 bytes of SHA-256 of the raw body, so every redelivery and replay of
/// the same bytes lands in one trace. v8, not v4, because the bits are not random.
pub fn stable_trace_id(body: &[u8]) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&Sha256::digest(body)[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Lowercase hex SHA-256 of the body: the stable message id (idempotency key) of a
/// foreign message that has no `message_id`.
pub fn message_id_for_body(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "9a2ae9de-3f82-4f55-966b-47df50ff51ff";

    #[test]
    fn traceparent_round_trips_the_trace_id() {
        let trace_id = Uuid::parse_str(TRACE).unwrap();
        let header = traceparent(trace_id, "message-1");
        assert!(header.starts_with("00-9a2ae9de3f824f55966b47df50ff51ff-"), "{header}");
        assert!(header.ends_with("-01"));
        assert_eq!(header.len(), 55);
        assert_eq!(trace_id_from_traceparent(&header).unwrap(), trace_id);
    }

    #[test]
    fn traceparent_span_is_deterministic_per_seed() {
        let trace_id = Uuid::parse_str(TRACE).unwrap();
        assert_eq!(traceparent(trace_id, "a"), traceparent(trace_id, "a"));
        assert_ne!(traceparent(trace_id, "a"), traceparent(trace_id, "b"));
    }

    #[test]
    fn reads_the_w3c_example_and_future_versions() {
        let w3c = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let expected = Uuid::parse_str("4bf92f35-77b3-4da6-a3ce-929d0e0e4736").unwrap();
        assert_eq!(trace_id_from_traceparent(w3c).unwrap(), expected);
        let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra";
        assert_eq!(trace_id_from_traceparent(future).unwrap(), expected);
    }

    #[test]
    fn rejects_malformed_traceparents_naming_the_field() {
        for bad in [
            "",
            "garbage",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ] {
            let error = parse_traceparent("ce-traceparent", bad).unwrap_err();
            assert_eq!(error.field(), Some("ce-traceparent"), "{bad}");
        }
    }

    #[test]
    fn stable_trace_id_is_a_v8_uuid_that_depends_only_on_the_bytes() {
        let a = stable_trace_id(b"{\"x\":1}");
        assert_eq!(a, stable_trace_id(b"{\"x\":1}"));
        assert_ne!(a, stable_trace_id(b"{\"x\":2}"));
        assert_eq!(a.get_version_num(), 8);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn message_id_is_the_hex_sha256_of_the_body() {
        assert_eq!(
            message_id_for_body(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
