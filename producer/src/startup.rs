//! The producer as one value: built (credentials checked, catalog read, HTTP bound, broker and
//! status feed started), then run until a shutdown signal, then stopped in order.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::middleware::from_fn_with_state;
use axum::Router;
use eda_common::health::{self, Health, HttpServer, Readiness};
use eda_common::metrics::Metrics;
use eda_common::{Broker, EventType, Publisher};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::catalog::Catalog;
use crate::config::{Config, DEFAULT_HTTP_PORT};
use crate::feed::{self, TraceCache};
use crate::http_metrics::{self, HttpMetrics};
use crate::ledger::Ledger;
use crate::order::{hostname, Publishing};
use crate::state::AppState;
use crate::{api, portal};

/// Every header the portal's pages need to be locked down: only the producer's own files run.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

/// A built producer, ready to run.
pub struct Application {
    server: HttpServer,
    broker: Broker,
    health: Health,
    feed: JoinHandle<()>,
    stopping: CancellationToken,
}

impl Application {
    /// Checks the settings (refusing to start without credentials), reads the catalog, binds
    /// `HTTP_ADDR`, and starts the broker connection and the status feed.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let auth = Auth::from_config(&config).await?;
        if auth.is_open() {
            tracing::warn!(
                "--insecure-no-auth: the portal and the API are open to anyone who can reach them"
            );
        }
        let catalog =
            Catalog::load(config.catalog.as_deref()).context("failed to load the product catalog")?;
        EventType::new(&config.common.company, "producer", "client", "published")
            .context("EDA_COMPANY cannot be a segment of an event type")?;
        let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new("producer")) };
        let http_metrics = HttpMetrics::register(&health);
        let broker = Broker::start(&config.common, "producer", &health);
        let stopping = CancellationToken::new();
        let ledger = match &config.database_url {
            Some(url) => Some(Ledger::connect(url, config.database_pool_size, &config.common.prefix)?),
            None => {
                tracing::info!("no PRODUCER_DATABASE_URL: the tenants page answers 503, timelines come from the cache only");
                None
            }
        };
        let cache = TraceCache::new(config.trace_cache_size as usize, config.trace_events_max as usize);
        let state = AppState {
            catalog: Arc::new(catalog),
            publisher: Publisher::new(&broker, config.publish_timeout),
            publishing: Arc::new(Publishing {
                company: config.common.company.clone(),
                host: hostname(),
                origin: config.origin.clone(),
            }),
            cache: cache.clone(),
            ledger,
            trace_events_max: config.trace_events_max as usize,
            publish_timeout: config.publish_timeout,
            stopping: stopping.clone(),
        };
        let router = router(state, auth, health.clone(), http_metrics);
        let addr = config.common.http_addr_or(DEFAULT_HTTP_PORT);
        let server = HttpServer::bind(addr, router)
            .await
            .with_context(|| format!("failed to bind HTTP_ADDR {addr}"))?;
        let feed = tokio::spawn(feed::tap::run(broker.clone(), cache, stopping.clone()));
        tracing::info!(addr = %server.local_addr(), broker = %config.common.amqp_url_redacted(), "producer started");
        Ok(Application { server, broker, health, feed, stopping })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Readiness and metrics (tests wait on `broker` and `status_feed`).
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Serves until `shutdown`; then live streams end, requests in flight finish (their
    /// publishes still confirmed), the feed stops and the connection closes cleanly.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let stopping = self.stopping.clone();
        let forward = tokio::spawn(async move {
            shutdown.cancelled().await;
            stopping.cancel();
        });
        let served = self.server.serve(self.stopping.clone()).await;
        self.stopping.cancel();
        forward.abort();
        let _ = self.feed.await;
        self.broker.close().await;
        tracing::info!("producer stopped");
        served.context("HTTP server failed")
    }
}

/// Health, API and portal, with the body limit, request metrics, request spans (when exported)
/// and security headers on all.
fn router(state: AppState, auth: Auth, health: Health, metrics: HttpMetrics) -> Router {
    let app: Router = api::router(auth.clone()).merge(portal::router(auth)).with_state(state);
    app.merge(health::router(health))
        .layer(from_fn_with_state(metrics, http_metrics::track))
        .layer(axum::middleware::from_fn(eda_common::telemetry::request_span))
        .layer(DefaultBodyLimit::max(api::MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
