//! What every mode starts from: health and metrics, the broker connection, a publisher, and
//! the `/healthz`, `/readyz`, `/metrics` server while a long-running mode runs.

use std::sync::Arc;
use std::time::Duration;

use eda_common::health::{self, Health, HttpServer, Readiness};
use eda_common::metrics::Metrics;
use eda_common::{Broker, CommonArgs, Publisher};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// `HTTP_ADDR` default port of the consumer (DESIGN.md §6).
pub const DEFAULT_HTTP_PORT: u16 = 9091;
/// How long a publish may wait for a connection or a confirm before it counts as failed.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// One mode's connection to the world; cheap to clone.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub health: Health,
    pub broker: Broker,
    pub publisher: Publisher,
}

impl Runtime {
    /// Starts connecting in the background as `service` (connection name, `app_id`, metrics label).
    pub fn start(common: &CommonArgs, service: &str) -> Runtime {
        let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new(service)) };
        let broker = Broker::start(common, service, &health);
        let publisher = Publisher::new(&broker, PUBLISH_TIMEOUT);
        Runtime { health, broker, publisher }
    }

    /// Waits for the broker connection, for one-shot tools that should fail rather than wait forever.
    pub async fn connected(&self, within: Duration) -> Result<Arc<lapin::Connection>> {
        let stop = CancellationToken::new();
        match tokio::time::timeout(within, self.broker.connected(&stop)).await {
            Ok(Some((_, conn))) => Ok(conn),
            _ => Err(Error::Unreachable(within)),
        }
    }

    /// Binds `HTTP_ADDR` (default port 9091) and serves health and metrics until `shutdown`.
    pub async fn serve_http(
        &self,
        common: &CommonArgs,
        shutdown: CancellationToken,
    ) -> Result<tokio::task::JoinHandle<()>> {
        let addr = common.http_addr_or(DEFAULT_HTTP_PORT);
        let server = HttpServer::bind(addr, health::router(self.health.clone()))
            .await
            .map_err(|source| Error::Http { addr, source })?;
        tracing::info!(addr = %server.local_addr(), "serving /healthz, /readyz and /metrics");
        Ok(tokio::spawn(async move {
            if let Err(error) = server.serve(shutdown).await {
                tracing::error!(%error, "HTTP server failed");
            }
        }))
    }

    /// Closes the broker connection cleanly (after consumers drained).
    pub async fn close(&self) {
        self.broker.close().await;
    }
}
