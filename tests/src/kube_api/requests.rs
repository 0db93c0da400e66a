//! The requests: as the operations see them, and the log of every call a client made, so a
//! test can state the calls it expects.

use axum::http::Method;
use serde_json::Value;

use super::status::ApiError;

/// A request as the operations see it.
pub(crate) struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub query: QueryParams,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub body: Result<Option<Value>, ApiError>,
}

/// One request the fixture answered (or failed on purpose).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`.
    pub method: String,
    /// Path without the query: `/api/v1/namespaces/cliente02`.
    pub path: String,
    /// Raw query string without `?`, empty when there was none.
    pub query: String,
    pub content_type: Option<String>,
    /// The body, parsed from JSON or YAML; `None` when empty or unparsable.
    pub body: Option<Value>,
    /// The HTTP status the fixture answered with.
    pub status: u16,
}

impl RecordedRequest {
    /// The decoded value of a query parameter, e.g. `fieldManager`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        QueryParams::parse(&self.query).get(name).map(str::to_string)
    }

    /// Whether this is a watch (`?watch=true` or `?watch=1`).
    pub fn is_watch(&self) -> bool {
        QueryParams::parse(&self.query).flag("watch")
    }

    /// `"PATCH /api/v1/namespaces/cliente02"`: the shape tests list expected calls in.
    pub fn method_and_path(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Decoded query parameters.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn parse(query: &str) -> Self {
        Self(url::form_urlencoded::parse(query.as_bytes()).into_owned().collect())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `true` for `name=true` or `name=1`.
    pub(crate) fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1"))
    }
}
