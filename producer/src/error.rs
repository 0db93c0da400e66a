//! HTTP errors of the API: each answers JSON `{"error", "field"}` naming what was wrong, hides
//! internals, and is logged once here rather than at every call site.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use eda_common::publisher::PublishError;
use eda_common::EnvelopeError;
use serde::Serialize;

/// One invalid field of a request, as shown next to the field in the portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub error: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, error: impl Into<String>) -> Self {
        FieldError { field: field.into(), error: error.into() }
    }
}

/// Why an API request was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body could not be read at all (not JSON, not an object, bad form encoding): 400.
    #[error("{0}")]
    Malformed(String),
    /// The body was read but values are missing, of the wrong type or not allowed: 422.
    #[error("{}", .0.first().map(|e| e.error.as_str()).unwrap_or("invalid request"))]
    Invalid(Vec<FieldError>),
    #[error("request body is over the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("content type must be {expected}")]
    UnsupportedMediaType { expected: &'static str },
    #[error("authentication required")]
    Unauthorized { basic_realm: bool },
    /// Signed in, but not for this client (or a cross-site request): 403 saying which.
    #[error("{0}")]
    Forbidden(String),
    /// The broker did not confirm the event in time; nothing was accepted: 503.
    #[error("the event could not be published (broker unavailable or publish not confirmed); retry later")]
    Unavailable(#[source] PublishError),
    /// A query parameter (filter, cursor, limit) with a value not allowed: 400 naming it.
    #[error("{}", .0.error)]
    BadParameter(FieldError),
    /// `PRODUCER_DATABASE_URL` is not set, so there is no ledger to read: 503 until it is.
    #[error("this route reads the ledger, and none is configured: set PRODUCER_DATABASE_URL to the dbwriter's database through a role in eda_ledger_reader (docs/producer.md); retrying will not help until then")]
    NoLedger,
    /// The ledger did not answer (down, restarting, too slow): 503, retrying may help.
    #[error("the ledger (PostgreSQL) could not be read right now; retry later")]
    LedgerUnavailable(#[source] crate::ledger::LedgerError),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, error: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, error)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Unavailable(_) | ApiError::NoLedger | ApiError::LedgerUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::BadParameter(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::Invalid(errors) => errors.first().map(|e| e.field.as_str()),
            ApiError::BadParameter(error) => Some(error.field.as_str()),
            _ => None,
        }
    }
}

/// An envelope the caller built: syntax problems are 400, the rest name their field (422).
impl From<EnvelopeError> for ApiError {
    fn from(e: EnvelopeError) -> Self {
        match &e {
            EnvelopeError::TooLarge { limit, .. } => ApiError::TooLarge { limit: *limit },
            EnvelopeError::NotJson(_) | EnvelopeError::NotObject => ApiError::Malformed(e.to_string()),
            EnvelopeError::Missing { field } | EnvelopeError::Invalid { field, .. } => {
                ApiError::invalid(field.clone(), e.to_string())
            }
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: String,
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            // Logged where it happened, with the trace id (AppState::publish).
            ApiError::Unavailable(_) => {}
            ApiError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            ApiError::LedgerUnavailable(source) => tracing::warn!(error = %source, "ledger unavailable"),
            _ => tracing::debug!(status = status.as_u16(), error = %self, "request refused"),
        }
        let errors = match &self {
            ApiError::Invalid(errors) if errors.len() > 1 => Some(errors.as_slice()),
            _ => None,
        };
        let body = Body { error: self.to_string(), field: self.field(), errors };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized { basic_realm } => {
                let challenge = if *basic_realm {
                    "Basic realm=\"eda producer\", charset=\"UTF-8\""
                } else {
                    "Bearer realm=\"eda producer\""
                };
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            }
            ApiError::Unavailable(_) | ApiError::LedgerUnavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}
