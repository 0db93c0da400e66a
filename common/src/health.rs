//! `/healthz`, `/readyz` and `/metrics`, and the readiness every part of a service reports into.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

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
/// Beside them, what is `degraded` (ready, a guarantee weaker) and the `reasons` a failing
/// check gives, for `/readyz`'s JSON.
#[derive(Debug, Clone)]
pub struct Readiness {
    checks: Arc<watch::Sender<BTreeMap<&'static str, bool>>>,
    details: Arc<Mutex<BTreeMap<String, Details>>>,
    /// Facts shown beside the checks (`broker`: the one connected to, password hidden).
    notes: Arc<Mutex<BTreeMap<&'static str, Option<String>>>>,
}

/// What one source (a topology scope, say) says beside its check.
#[derive(Debug, Clone, Default)]
pub struct Details {
    /// Ready, but a guarantee is weaker: shown under `degraded`.
    pub degraded: Vec<serde_json::Value>,
    /// Why a check is false: shown under `reasons`.
    pub reasons: Vec<serde_json::Value>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            checks: Arc::new(watch::channel(BTreeMap::new()).0),
            details: Arc::default(),
            notes: Arc::default(),
        }
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

    /// Replaces what `source` says beside the checks.
    pub fn set_details(&self, source: &str, details: Details) {
        self.details.lock().expect("readiness details poisoned").insert(source.to_owned(), details);
    }

    /// Shows `value` under `name` in `/readyz` (`None`: null). Never a secret.
    pub fn set_note(&self, name: &'static str, value: Option<String>) {
        self.notes.lock().expect("readiness notes poisoned").insert(name, value);
    }

    /// The note `name`, if one was set and is not null.
    pub fn note(&self, name: &str) -> Option<String> {
        self.notes.lock().expect("readiness notes poisoned").get(name).cloned().flatten()
    }

    /// Every `degraded` entry and every reason, over all sources.
    pub fn details(&self) -> Details {
        let all = self.details.lock().expect("readiness details poisoned");
        Details {
            degraded: all.values().flat_map(|d| d.degraded.iter().cloned()).collect(),
            reasons: all.values().flat_map(|d| d.reasons.iter().cloned()).collect(),
        }
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
    let details = h.readiness.details();
    let mut body = serde_json::json!({
        "ready": ready,
        "checks": checks,
        "degraded": details.degraded,
        "reasons": details.reasons,
    });
    let notes = h.readiness.notes.lock().expect("readiness notes poisoned").clone();
    for (name, value) in notes {
        body[name] = serde_json::json!(value);
    }
    (status, Json(body))
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
