//! Reading request bodies: the content type first (415), the 1 MiB limit (413), then syntax (400).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The largest request body accepted, as for an envelope on the wire.
pub const MAX_BODY_BYTES: usize = eda_common::envelope::MAX_BODY_BYTES;

/// Whether the request says its body is of `expected` (parameters such as charset allowed).
pub fn has_content_type(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// The body bytes, or 413 when over the limit (the layer's rejection says so).
pub fn bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge { limit: MAX_BODY_BYTES },
        _ => ApiError::Malformed(format!("cannot read the request body: {rejection}")),
    })
}

/// A JSON request body that must be an object.
pub fn json_object(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Map<String, Value>, ApiError> {
    if !has_content_type(headers, "application/json") {
        return Err(ApiError::UnsupportedMediaType { expected: "application/json" });
    }
    let bytes = bytes(body)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::Malformed("body is not a JSON object".into())),
        Err(e) => Err(ApiError::Malformed(format!("body is not JSON: {e}"))),
    }
}
