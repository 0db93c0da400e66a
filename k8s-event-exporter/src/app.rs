//! The exporter as one application: HTTP health and metrics, the broker, the namespace
//! reflector, the election, and — while this replica leads — the export pipeline.

use std::net::SocketAddr;
use std::sync::Arc;

use eda_common::health::{self, Health, HttpServer, Readiness};
use eda_common::metrics::Metrics;
use eda_common::{Broker, Publisher};
use kube::Client;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, DEFAULT_HTTP_PORT};
use crate::envelope::APP;
use crate::error::{Error, Result};
use crate::leader::{Election, LeaseSettings};
use crate::metrics::ExporterMetrics;
use crate::namespaces::Namespaces;
use crate::pipeline::Pipeline;

/// A built exporter: its HTTP address is bound, so tests know its port before it runs.
pub struct Application {
    config: Config,
    client: Client,
    http: HttpServer,
    health: Health,
    metrics: ExporterMetrics,
    broker: Broker,
    /// On a first start (no watermark), events that last happened before this are old.
    started: chrono::DateTime<chrono::Utc>,
}

impl Application {
    /// Binds `HTTP_ADDR` (default port 9094) and starts connecting to the broker.
    pub async fn build(config: Config, client: Client) -> Result<Self> {
        let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new(APP)) };
        let metrics = ExporterMetrics::register(&health.metrics);
        let addr = config.common.http_addr_or(DEFAULT_HTTP_PORT);
        let http = HttpServer::bind(addr, health::router(health.clone()))
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let broker = Broker::start(&config.common, APP, &health);
        let started = chrono::Utc::now();
        Ok(Application { config, client, http, health, metrics, broker, started })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.http.local_addr()
    }

    pub fn readiness(&self) -> Readiness {
        self.health.readiness.clone()
    }

    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Runs until `shutdown`: follows the Lease (or leads alone) and exports while leading.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application { config, client, http, health, metrics, broker, started } = self;
        let http = tokio::spawn(http.serve(shutdown.clone()));
        let selector = (!config.all_namespaces).then(|| config.namespace_selector.clone());
        let namespaces = Namespaces::start(client.clone(), selector, shutdown.clone());
        let (leader_tx, mut leader) = watch::channel(false);
        // The Lease is released only after the pipeline has written its last watermark, so
        // the next leader starts from it.
        let resign = CancellationToken::new();
        let election = if config.leader_election {
            let settings = LeaseSettings {
                namespace: config.lease_namespace(),
                name: config.lease_name.clone(),
                identity: config.identity(),
                duration: config.lease_duration,
                renew: config.lease_renew,
            };
            tracing::info!(identity = %settings.identity, lease = %settings.name, "campaigning for the lease");
            Some(tokio::spawn(Election::new(client.clone(), settings).run(leader_tx, resign.clone())))
        } else {
            leader_tx.send_replace(true);
            None
        };
        {
            let (readiness, namespaces) = (health.readiness.clone(), namespaces.clone());
            readiness.set("namespaces", false);
            tokio::spawn(async move {
                namespaces.synced().await;
                readiness.set("namespaces", true);
            });
        }
        let publisher = Publisher::new(&broker, config.publish_timeout);
        let pipeline =
            Pipeline { config: &config, client: &client, namespaces, publisher, metrics: &metrics, started };
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                led = leader.wait_for(|l| *l) => if led.is_err() { break },
            }
            metrics.leader.set(1);
            let stop = shutdown.child_token();
            // Losing the lease cancels the pipeline, which stops publishing before its next event.
            let lost = tokio::spawn({
                let (stop, mut leader) = (stop.clone(), leader.clone());
                async move {
                    let _ = leader.wait_for(|l| !*l).await;
                    stop.cancel();
                }
            });
            pipeline.run(stop.clone()).await;
            lost.abort();
            stop.cancel();
            metrics.leader.set(0);
            tracing::info!("stopped exporting (lost the lease or shutting down)");
        }
        resign.cancel();
        if let Some(election) = election {
            election.await.ok();
        }
        http.await??;
        broker.close().await;
        Ok(())
    }
}
