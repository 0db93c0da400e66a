//! The running service: catalog, broker, deployer, consumer and HTTP endpoints, built from a
//! [`Config`] so that tests run exactly what production runs.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use eda_common::delivery::{self, ConsumerSpec};
use eda_common::health::{self, Health, HttpServer, Readiness};
use eda_common::lease::LeaseSettings;
use eda_common::metrics::Metrics;
use eda_common::shutdown::Shutdown;
use eda_common::topology::ServiceQueue;
use eda_common::{Broker, Publisher};

use crate::catalog::Catalog;
use crate::cluster::Cluster;
use crate::config::{Config, DeployerKind, Mode, DEFAULT_HTTP_PORT};
use crate::database::TenantDatabases;
use crate::deploy::{Deployer, FluxDeployer, FluxSettings, HelmDeployer, HelmSettings, PlanDeployer};
use crate::handler::Provisioner;
use crate::metrics::ProvisionerMetrics;
use crate::objects::{Grant, GRANT_NAME, READER_GRANT_NAME};
use crate::reconcile::controller;
use crate::reconcile::{ReconcileSettings, Reconciler};
use crate::tenants::TenantStore;

/// The queue's service name and the `app` of published events.
pub const SERVICE: &str = "provisioner";
/// What the provisioner consumes.
pub const BINDINGS: [&str; 2] = ["*.*.event.*.published", "*.*.event.*.cancelled"];

/// A provisioner whose HTTP listener is bound and whose broker connection is starting.
pub struct Application {
    config: Config,
    catalog: Arc<Catalog>,
    cluster: Option<Cluster>,
    databases: TenantDatabases,
    pub health: Health,
    broker: Broker,
    http: HttpServer,
}

impl Application {
    /// Loads and validates the catalog, builds the kube client (not in plan mode), binds HTTP.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let catalog = Arc::new(Catalog::load(config.catalog.as_deref())?);
        let databases = TenantDatabases::from_args(&config.tenant_database).map_err(anyhow::Error::msg)?;
        let cluster = match config.mode {
            Mode::Plan => None,
            Mode::Apply => Some(
                Cluster::new(kube_client(&config).await?, grants(&config))
                    .with_database_egress(databases.egress().cloned()),
            ),
        };
        let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new(SERVICE)) };
        let addr = config.common.http_addr_or(DEFAULT_HTTP_PORT);
        let http = HttpServer::bind(addr, health::router(health.clone()))
            .await
            .with_context(|| format!("failed to bind the HTTP address {addr}"))?;
        let broker = Broker::start(&config.common, SERVICE, &health);
        tracing::info!(mode = ?config.mode, deployer = ?config.deployer, products = catalog.products.len(),
            http = %http.local_addr(), amqp = %config.common.amqp_url_redacted(), "provisioner starting");
        Ok(Application { config, catalog, cluster, databases, health, broker, http })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http.local_addr()
    }

    /// Consumes orders until `shutdown`, then finishes in-flight work and closes.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let c = &self.config;
        let helm = HelmSettings {
            bin: c.helm_bin.clone(),
            timeout: c.helm_timeout,
            kubeconfig: c.kubeconfig.clone(),
            chart_root: c.chart_root.clone(),
            kill_grace: c.helm_kill_grace,
        };
        let flux = FluxSettings {
            git_source_name: c.flux_source_name.clone(),
            git_source_namespace: c.flux_source_namespace.clone(),
            interval: c.flux_interval.clone(),
            timeout: c.flux_timeout,
        };
        match (c.mode, c.deployer, self.cluster.clone()) {
            (Mode::Plan, DeployerKind::Helm, _) | (_, DeployerKind::Helm, None) => {
                self.serve(PlanDeployer::Helm(helm), shutdown).await
            }
            (Mode::Plan, DeployerKind::Flux, _) | (_, DeployerKind::Flux, None) => {
                self.serve(PlanDeployer::Flux(flux), shutdown).await
            }
            (Mode::Apply, DeployerKind::Helm, Some(_)) => {
                self.serve(HelmDeployer { settings: helm }, shutdown).await
            }
            (Mode::Apply, DeployerKind::Flux, Some(cluster)) => {
                self.serve(FluxDeployer { cluster, settings: flux }, shutdown).await
            }
        }
    }

    async fn serve<D: Deployer>(self, deployer: D, shutdown: Shutdown) -> anyhow::Result<()> {
        let c = &self.config;
        let publisher = Publisher::new(&self.broker, c.publish_timeout);
        let metrics = ProvisionerMetrics::register(&self.health.metrics);
        let prefix = &c.common.prefix;
        let store = match &self.cluster {
            Some(cluster) => TenantStore::kube(cluster.client().clone(), prefix),
            None => TenantStore::memory(prefix),
        };
        let settings = ReconcileSettings {
            max_retries: c.common.max_retries,
            retry_delays: c.common.retry_delays.0.clone(),
            resync: c.resync_interval,
            abandoned_after: c.helm_timeout + c.helm_kill_grace,
            databases: self.databases.clone(),
        };
        let reconciler = Arc::new(Reconciler::new(
            store.clone(),
            self.cluster.clone(),
            self.catalog.clone(),
            deployer,
            publisher.clone(),
            c.common.company.clone(),
            metrics.clone(),
            settings,
        ));
        let leading = match &self.cluster {
            Some(cluster) => {
                let lease = LeaseSettings {
                    namespace: c.lease_namespace.clone(),
                    name: format!("{prefix}-{SERVICE}"),
                    identity: c.identity.clone().unwrap_or_else(default_identity),
                    duration: c.lease_duration,
                    renew: c.lease_duration / 3,
                };
                let client = cluster.client().clone();
                let concurrency = c.concurrency.max(1);
                Some(tokio::spawn(controller::lead(
                    reconciler.clone(),
                    client,
                    lease,
                    concurrency,
                    shutdown.clone(),
                )))
            }
            None => None,
        };
        let handler = Provisioner {
            catalog: self.catalog.clone(),
            store,
            publisher: publisher.clone(),
            company: c.common.company.clone(),
            metrics,
            inline: self.cluster.is_none().then_some(reconciler),
        };
        let spec = ConsumerSpec {
            queue: ServiceQueue {
                service: SERVICE.into(),
                bindings: BINDINGS.iter().map(|b| b.to_string()).collect(),
            },
            concurrency: c.concurrency.max(1),
            emit_failed: true,
        };
        let http = tokio::spawn(self.http.serve(shutdown.clone()));
        let consumed = delivery::run(&publisher, spec, Arc::new(handler), shutdown.clone()).await;
        // Whatever ended the consumer, stop the reconciler and the HTTP server too, then close.
        shutdown.cancel();
        if let Some(leading) = leading {
            leading.await.context("the reconciler task panicked")?;
        }
        let served = http.await.context("the HTTP server task panicked")?;
        self.broker.close().await;
        consumed.context("the consumer stopped")?;
        served.context("the HTTP server failed")?;
        tracing::info!("provisioner stopped");
        Ok(())
    }
}

/// The RoleBindings of each tenant namespace: the provisioner's own (with `--subject`), then
/// the exporter's (with `--reader-subject`).
fn grants(config: &Config) -> Vec<Grant> {
    let own = config.subject.clone().map(|subject| Grant {
        name: GRANT_NAME.into(),
        role: config.tenant_role.clone(),
        subject,
    });
    let reader = config.reader_subject.clone().map(|subject| Grant {
        name: READER_GRANT_NAME.into(),
        role: config.reader_role.clone(),
        subject,
    });
    own.into_iter().chain(reader).collect()
}

/// `<host>-<pid>-<random>`: unique per process, readable in `kubectl get lease`.
fn default_identity() -> String {
    let host =
        std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "provisioner".into());
    format!("{host}-{}-{:04x}", std::process::id(), fastrand::u16(..))
}

/// A kube client from `--kubeconfig`, else kube's inference (in-cluster, then ~/.kube/config).
async fn kube_client(config: &Config) -> anyhow::Result<kube::Client> {
    // kube and lapin each enable a rustls provider; rustls cannot choose, so pick ring here.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        rustls::crypto::ring::default_provider().install_default().ok();
    }
    let kube_config = match &config.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("failed to read the kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .with_context(|| format!("failed to use the kubeconfig {}", path.display()))?
        }
        None => kube::Config::infer().await.context("failed to find a Kubernetes configuration")?,
    };
    kube::Client::try_from(kube_config).context("failed to build the Kubernetes client")
}
