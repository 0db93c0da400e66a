//! A server span per HTTP request, when spans are exported: `POST /api/v1/orders`, named by
//! the matched route (never the path: no client names), with the method, route and status.
//!
//! A request begins a new trace, the purchase's own: eda's trace id is the purchase's
//! identity (its status page, its rows), so two orders must never share one even when a
//! caller sends both under its own `traceparent`. The caller's trace is linked instead.
//! Probes and scrapes (`/healthz`, `/readyz`, `/metrics`) make no spans.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use super::context::link_to;
use super::otel::exporting;

const UNTRACED: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Middleware (`axum::middleware::from_fn(request_span)`): the request runs in its span.
pub async fn request_span(request: Request, next: Next) -> Response {
    if !exporting() || UNTRACED.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().as_str().to_string();
    let span = tracing::info_span!(
        "http.request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let caller = request.headers().get("traceparent").and_then(|v| v.to_str().ok());
    link_to(&span, caller);
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
    response
}
