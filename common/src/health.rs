//! `/healthz`, `/readyz` and `/metrics`, and the readiness every part of a service reports into.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::exposition;
use crate::metrics::Metrics;

/// Named readiness checks (`broker`, `consumer`, `database`, …); ready when every one is true.
#[derive(Debug, Clone)]
pub struct Readiness {
    checks: Arc<watch::Sender<BTreeMap<&'static str, bool>>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness { checks: Arc::new(watch::channel(BTreeMap::new()).0) }
    }
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the state of one check.
    pub fn set(&self, check: &'static str, ready: bool) {
        self.checks.send_if_modified(|c| c.insert(check, ready) != Some(ready));
    }

    pub fn is_ready(&self) -> bool {
        self.checks.borrow().values().all(|r| *r)
    }

    /// The state of one check, if it was ever set.
    pub fn check(&self, check: &str) -> Option<bool> {
        self.checks.borrow().get(check).copied()
    }

    /// Waits until `check` has the state `ready` (for tests and start-up ordering).
    pub async fn wait_for(&self, check: &str, ready: bool) {
        let mut rx = self.checks.subscribe();
        let _ = rx.wait_for(|c| c.get(check) == Some(&ready)).await;
    }

    fn snapshot(&self) -> BTreeMap<&'static str, bool> {
        self.checks.borrow().clone()
    }
}

/// What the health routes need.
#[derive(Debug, Clone)]
pub struct Health {
    pub readiness: Readiness,
    pub metrics: Arc<Metrics>,
}

/// The routes `/healthz`, `/readyz`, `/metrics`, to serve alone or merge into a service's router.
pub fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(health)
}

async fn readyz(State(h): State<Health>) -> impl IntoResponse {
    let checks = h.readiness.snapshot();
    let ready = checks.values().all(|r| *r);
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(serde_json::json!({ "ready": ready, "checks": checks })))
}

/// OpenMetrics to a scraper that asks for it (Prometheus does), the classic text format to
/// anything else (curl, promtool): see [`crate::exposition`].
async fn metrics(State(h): State<Health>, headers: axum::http::HeaderMap) -> impl IntoResponse {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let encoded = h.metrics.encode();
    if exposition::wants_openmetrics(accept) {
        ([(header::CONTENT_TYPE, exposition::OPENMETRICS)], encoded)
    } else {
        ([(header::CONTENT_TYPE, exposition::TEXT)], exposition::to_text_format(&encoded))
    }
}

/// A bound HTTP server: its address is known before it runs, so tests can bind port 0.
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    router: Router,
}

impl HttpServer {
    pub async fn bind(addr: SocketAddr, router: Router) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(HttpServer { listener, router })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown`, then finishes the requests in flight.
    pub async fn serve(self, shutdown: CancellationToken) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    }
}
