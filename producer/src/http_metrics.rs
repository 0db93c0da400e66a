//! Request metrics: `eda_http_requests_total{route, method, status}` and
//! `eda_http_request_duration_seconds{route}`. The route is the matched path template
//! (`/api/v1/orders/{client}/{product}`), never the path itself: no client name or trace id.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use eda_common::health::Health;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    /// The standard methods by name; anything else is `OTHER` (labels stay a small set).
    pub method: &'static str,
    /// `2xx`, `3xx`, `4xx` or `5xx`.
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

type Durations = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The producer's HTTP metrics, registered in the runtime's registry.
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: Durations,
}

impl HttpMetrics {
    pub fn register(health: &Health) -> Self {
        fn buckets() -> Histogram {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        }
        let m = HttpMetrics { requests: Family::default(), durations: Family::new_with_constructor(buckets) };
        health.metrics.register(
            "http_requests",
            "HTTP requests by route, method and status class",
            m.requests.clone(),
        );
        health.metrics.register(
            "http_request_duration_seconds",
            "Time to the response head, by route (a live stream counts until its head)",
            m.durations.clone(),
        );
        m
    }
}

/// Counts every request once its response head is ready.
pub async fn track(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = match response.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics
        .durations
        .get_or_create(&RouteLabels { route: route.clone() })
        .observe(started.elapsed().as_secs_f64());
    metrics.requests.get_or_create(&RequestLabels { route, method, status }).inc();
    response
}

fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::HEAD, Method::OPTIONS]
        .into_iter()
        .zip(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
        .find(|(m, _)| m == method)
        .map_or("OTHER", |(_, label)| label)
}
