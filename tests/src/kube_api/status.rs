//! `Status` objects: the body of every error the fixture answers, as kube-rs parses them.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::registry::ResourceKind;

/// An API error: HTTP code, machine-readable reason and message, answered as a `Status`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub(crate) fn new(code: u16, message: impl Into<String>) -> Self {
        Self { code, reason: reason_for(code), message: message.into(), details: None }
    }

    pub(crate) fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = reason;
        self
    }

    fn about(mut self, kind: &ResourceKind, name: &str) -> Self {
        self.details = Some(json!({"name": name, "group": kind.group, "kind": kind.plural}));
        self
    }

    pub(crate) fn not_found(kind: &ResourceKind, name: &str) -> Self {
        Self::new(404, format!("{} \"{name}\" not found", kind.qualified_plural())).about(kind, name)
    }

    pub(crate) fn no_route() -> Self {
        Self::new(404, "the server could not find the requested resource")
    }

    pub(crate) fn already_exists(kind: &ResourceKind, name: &str) -> Self {
        Self::new(409, format!("{} \"{name}\" already exists", kind.qualified_plural()))
            .with_reason("AlreadyExists")
            .about(kind, name)
    }

    pub(crate) fn conflict(kind: &ResourceKind, name: &str) -> Self {
        Self::new(
            409,
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                kind.qualified_plural()
            ),
        )
        .about(kind, name)
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    pub(crate) fn invalid(kind: &ResourceKind, name: &str, message: impl Into<String>) -> Self {
        Self::new(422, message).about(kind, name)
    }

    /// The `Status` object itself, also sent inside a watch stream as an `ERROR` event.
    pub(crate) fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, [(header::CONTENT_TYPE, "application/json")], self.to_status().to_string()).into_response()
    }
}

/// The `reason` a real API server pairs with an HTTP code.
pub(crate) fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}
