//! The skeleton every eda service runs in, written once: its health (readiness and metrics),
//! its broker connection and a publisher on it, and the HTTP server of `/healthz`, `/readyz`,
//! `/metrics` (and whatever routes the service adds). [`Service::start`] builds them,
//! [`Service::serve`] (or [`Service::serve_with`] the service's own routes) binds the HTTP address, and [`Serving::run`] runs the service's own work,
//! then stops in the one order every service needs: the work, then HTTP (requests in flight
//! finish), then the broker connection.
//!
//! ```ignore
//! let service = Service::start(&config.common, "dbwriter", PUBLISH_TIMEOUT);
//! service.readiness().set("database", false);
//! let serving = service.serve(config.common.http_addr_or(9092)).await?;
//! serving.run(shutdown, |service, stop| async move { consume(&service.publisher, stop).await }).await
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use lapin::Connection;
use tokio_util::sync::CancellationToken;

use crate::config::CommonArgs;
use crate::health::{self, Health, HttpServer, Readiness};
use crate::metrics::Metrics;
use crate::{Broker, Publisher};

/// A started service: what its work is connected through. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Service {
    pub health: Health,
    pub broker: Broker,
    pub publisher: Publisher,
    stopping: CancellationToken,
}

/// A service whose HTTP address is bound (so a test knows its port before it runs).
#[derive(Debug)]
pub struct Serving {
    pub service: Service,
    http: HttpServer,
}

/// Why a service could not start serving, or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("failed to bind the HTTP address {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("the HTTP server task panicked")]
    Panicked,
}

impl Service {
    /// Health and metrics for `name` (the metrics' `service` label, the connection name and
    /// the `app_id` of what it publishes), and the broker connection, started in the
    /// background. Publishes wait `publish_timeout` at most for the broker's confirm.
    pub fn start(common: &CommonArgs, name: &str, publish_timeout: Duration) -> Service {
        let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new(name)) };
        let broker = Broker::start(common, name, &health);
        let publisher = Publisher::new(&broker, publish_timeout);
        Service { health, broker, publisher, stopping: CancellationToken::new() }
    }

    pub fn readiness(&self) -> &Readiness {
        &self.health.readiness
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.health.metrics
    }

    /// Cancelled when the service begins to stop (a shutdown signal, or its work ended), for
    /// parts that must end before HTTP can finish (live streams, say).
    pub fn stopping(&self) -> CancellationToken {
        self.stopping.clone()
    }

    /// The broker connection, once made; `None` if it is not made `within` (for one-shot
    /// tools, which should fail rather than wait for ever).
    pub async fn connected(&self, within: Duration) -> Option<Arc<Connection>> {
        let stop = CancellationToken::new();
        tokio::time::timeout(within, self.broker.connected(&stop)).await.ok().flatten().map(|(_, c)| c)
    }

    /// Binds `addr` for the health routes alone.
    pub async fn serve(self, addr: SocketAddr) -> Result<Serving, ServeError> {
        self.serve_with(addr, |health| health).await
    }

    /// Binds `addr` for the router `app` makes of the health routes: the service's own routes
    /// merged with them, and the layers it puts over all.
    pub async fn serve_with(
        self,
        addr: SocketAddr,
        app: impl FnOnce(Router) -> Router,
    ) -> Result<Serving, ServeError> {
        let router = app(health::router(self.health.clone()));
        match HttpServer::bind(addr, router).await {
            Ok(http) => Ok(Serving { service: self, http }),
            Err(source) => {
                self.close().await;
                Err(ServeError::Bind { addr, source })
            }
        }
    }

    /// Closes the broker connection cleanly (after the consumers drained).
    pub async fn close(&self) {
        self.stopping.cancel();
        self.broker.close().await;
    }
}

impl Serving {
    /// The address `/healthz`, `/readyz` and `/metrics` are served on.
    pub fn local_addr(&self) -> SocketAddr {
        self.http.local_addr()
    }

    /// Serves HTTP and runs `work` (given the service and [`Service::stopping`]) until the work
    /// ends or `shutdown`; whatever ended it stops the rest, in order: HTTP finishes its
    /// requests, then the broker connection closes. The work's error comes first, then the
    /// server's.
    pub async fn run<T, E, F, Fut>(self, shutdown: CancellationToken, work: F) -> Result<T, E>
    where
        F: FnOnce(Service, CancellationToken) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<ServeError>,
    {
        let Serving { service, http } = self;
        let stopping = service.stopping();
        let forward = tokio::spawn({
            let stopping = stopping.clone();
            async move {
                shutdown.cancelled().await;
                stopping.cancel();
            }
        });
        let server = tokio::spawn(http.serve(stopping.clone()));
        let result = work(service.clone(), stopping.clone()).await;
        stopping.cancel();
        forward.abort();
        let served = server.await;
        service.close().await;
        let value = result?;
        served.map_err(|_| ServeError::Panicked)?.map_err(ServeError::Serve)?;
        tracing::info!(service = service.broker.service(), "stopped");
        Ok(value)
    }
}
