//! The producer as one value: built (credentials checked, catalog read, HTTP bound, broker and
//! status feed started), then run until a shutdown signal, then stopped in order.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::middleware::from_fn_with_state;
use axum::Router;
use eda_common::health::Health;
use eda_common::service::{Service, Serving};
use eda_common::EventType;
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
    serving: Serving,
    feed: JoinHandle<()>,
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
        let service = Service::start(&config.common, "producer", config.publish_timeout);
        let http_metrics = HttpMetrics::register(&service.health);
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
            publisher: service.publisher.clone(),
            publishing: Arc::new(Publishing {
                company: config.common.company.clone(),
                host: hostname(),
                origin: config.origin.clone(),
            }),
            cache: cache.clone(),
            ledger,
            trace_events_max: config.trace_events_max as usize,
            publish_timeout: config.publish_timeout,
            stopping: service.stopping(),
        };
        let (broker, stopping) = (service.broker.clone(), service.stopping());
        let addr = config.common.http_addr_or(DEFAULT_HTTP_PORT);
        let serving = service.serve_with(addr, |health| router(state, auth, health, http_metrics)).await?;
        let feed = tokio::spawn(feed::tap::run(broker, cache, stopping));
        tracing::info!(addr = %serving.local_addr(), broker = %config.common.amqp_url_redacted(), "producer started");
        Ok(Application { serving, feed })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.serving.local_addr()
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Readiness and metrics (tests wait on `broker` and `status_feed`).
    pub fn health(&self) -> &Health {
        &self.serving.service.health
    }

    /// Serves until `shutdown`; then live streams end, requests in flight finish (their
    /// publishes still confirmed), the feed stops and the connection closes cleanly.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application { serving, feed } = self;
        serving
            .run(shutdown, |_, stopping| async move {
                // The HTTP server is the producer's work; the feed ends with it.
                stopping.cancelled().await;
                let _ = feed.await;
                Ok::<_, anyhow::Error>(())
            })
            .await
    }
}

/// Health, API and portal, with the body limit, request metrics, request spans (when exported)
/// and security headers on all.
fn router(state: AppState, auth: Auth, health: Router, metrics: HttpMetrics) -> Router {
    let app: Router = api::router(auth.clone()).merge(portal::router(auth)).with_state(state);
    app.merge(health)
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
