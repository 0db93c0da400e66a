//! The exporter as one application: the service skeleton (health, broker, HTTP), the namespace
//! reflector, the election, and — while this replica leads — the export pipeline.

use std::net::SocketAddr;

use eda_common::health::{Health, Readiness};
use eda_common::service::{Service, Serving};
use kube::Client;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, DEFAULT_HTTP_PORT};
use crate::envelope::APP;
use crate::error::Result;
use crate::leader::{Election, LeaseSettings};
use crate::metrics::ExporterMetrics;
use crate::namespaces::Namespaces;
use crate::pipeline::Pipeline;

/// A built exporter: its HTTP address is bound, so tests know its port before it runs.
pub struct Application {
    config: Config,
    client: Client,
    serving: Serving,
    metrics: ExporterMetrics,
    /// On a first start (no watermark), events that last happened before this are old.
    started: chrono::DateTime<chrono::Utc>,
}

impl Application {
    /// Binds `HTTP_ADDR` (default port 9094) and starts connecting to the broker.
    pub async fn build(config: Config, client: Client) -> Result<Self> {
        let service = Service::start(&config.common, APP, config.publish_timeout);
        let metrics = ExporterMetrics::register(service.metrics());
        let addr = config.common.http_addr_or(DEFAULT_HTTP_PORT);
        let serving = service.serve(addr).await?;
        let started = chrono::Utc::now();
        Ok(Application { config, client, serving, metrics, started })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.serving.local_addr()
    }

    pub fn readiness(&self) -> Readiness {
        self.serving.service.readiness().clone()
    }

    pub fn health(&self) -> Health {
        self.serving.service.health.clone()
    }

    /// Runs until `shutdown`: follows the Lease (or leads alone) and exports while leading.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application { config, client, serving, metrics, started } = self;
        serving
            .run(shutdown, |service, stop| async move {
                export_while_leading(&config, client, &service, &metrics, started, stop).await;
                Ok::<_, anyhow::Error>(())
            })
            .await
    }
}

/// Follows the Lease (or leads alone) and runs the pipeline while this replica leads, until
/// `shutdown`.
async fn export_while_leading(
    config: &Config,
    client: Client,
    service: &Service,
    metrics: &ExporterMetrics,
    started: chrono::DateTime<chrono::Utc>,
    shutdown: CancellationToken,
) {
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
        let (readiness, namespaces) = (service.readiness().clone(), namespaces.clone());
        readiness.set("namespaces", false);
        tokio::spawn(async move {
            namespaces.synced().await;
            readiness.set("namespaces", true);
        });
    }
    let publisher = service.publisher.clone();
    let pipeline = Pipeline { config, client: &client, namespaces, publisher, metrics, started };
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
}
