//! The running service: the service skeleton (health, broker, HTTP), the catalog, the target
//! (apply or plan), the order consumer and — in apply mode — the Lease-led reconciler; built
//! from a [`Config`] so that tests run exactly what production runs.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use eda_common::delivery::{self, ConsumerSpec};
use eda_common::health::Health;
use eda_common::lease::LeaseSettings;
use eda_common::service::{Service, Serving};
use eda_common::shutdown::Shutdown;
use eda_common::topology::ServiceQueue;

use crate::catalog::Catalog;
use crate::config::{Config, DEFAULT_HTTP_PORT};
use crate::database::TenantDatabases;
use crate::handler::Provisioner;
use crate::metrics::ProvisionerMetrics;
use crate::reconcile::controller;
use crate::reconcile::{ReconcileSettings, Reconciler};
use crate::target::Target;

/// The queue's service name and the `app` of published events.
pub const SERVICE: &str = "provisioner";
/// What the provisioner consumes.
pub const BINDINGS: [&str; 2] = ["*.*.event.*.published", "*.*.event.*.cancelled"];

/// A provisioner whose HTTP listener is bound and whose broker connection is starting.
pub struct Application {
    config: Config,
    catalog: Arc<Catalog>,
    target: Target,
    databases: TenantDatabases,
    serving: Serving,
}

impl Application {
    /// Loads and validates the catalog, builds the target (a kube client in apply mode), binds HTTP.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let catalog = Arc::new(Catalog::load(config.catalog.as_deref())?);
        let databases = TenantDatabases::from_args(&config.tenant_database).map_err(anyhow::Error::msg)?;
        let target = Target::from_config(&config, &databases).await?;
        let service = Service::start(&config.common, SERVICE, config.publish_timeout);
        let serving = service.serve(config.common.http_addr_or(DEFAULT_HTTP_PORT)).await?;
        tracing::info!(mode = ?config.mode, deployer = ?config.deployer, products = catalog.products.len(),
            http = %serving.local_addr(), amqp = %config.common.amqp_url_redacted(), "provisioner starting");
        Ok(Application { config, catalog, target, databases, serving })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.serving.local_addr()
    }

    /// Readiness and metrics (tests wait on `broker` and read `/metrics`).
    pub fn health(&self) -> &Health {
        &self.serving.service.health
    }

    /// Consumes orders until `shutdown`, then finishes in-flight work and closes.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let Application { config: c, catalog, target, databases, serving } = self;
        serving
            .run(shutdown, |service, stop| async move {
                let metrics = ProvisionerMetrics::register(service.metrics());
                let prefix = &c.common.prefix;
                let store = target.store(prefix);
                let lease = LeaseSettings {
                    namespace: c.lease_namespace.clone(),
                    name: format!("{prefix}-{SERVICE}"),
                    identity: c.identity.clone().unwrap_or_else(default_identity),
                    duration: c.lease_duration,
                    renew: c.lease_duration / 3,
                };
                let settings = ReconcileSettings {
                    max_retries: c.common.max_retries,
                    retry_delays: c.common.retry_delays.0.clone(),
                    resync: c.resync_interval,
                    abandoned_after: c.helm_timeout + c.helm_kill_grace,
                    databases,
                };
                let concurrency = c.concurrency.max(1);
                let reconciler = Arc::new(Reconciler::new(
                    store.clone(),
                    target,
                    catalog.clone(),
                    service.publisher.clone(),
                    c.common.company.clone(),
                    metrics.clone(),
                    settings,
                ));
                // In apply mode a controller watches the Tenants; a plan reconciles each order at once.
                let leading = reconciler.target.cluster().map(|cluster| {
                    let client = cluster.client().clone();
                    tokio::spawn(controller::lead(
                        reconciler.clone(),
                        client,
                        lease,
                        concurrency,
                        stop.clone(),
                    ))
                });
                let handler = Provisioner {
                    catalog,
                    store,
                    publisher: service.publisher.clone(),
                    company: c.common.company.clone(),
                    metrics,
                    reconciler,
                };
                let spec = ConsumerSpec {
                    queue: ServiceQueue {
                        service: SERVICE.into(),
                        bindings: BINDINGS.iter().map(|b| b.to_string()).collect(),
                    },
                    concurrency,
                    emit_failed: true,
                };
                let consumed = delivery::run(&service.publisher, spec, Arc::new(handler), stop.clone()).await;
                // Whatever ended the consumer, stop the reconciler too before HTTP and the broker.
                stop.cancel();
                if let Some(leading) = leading {
                    leading.await.context("the reconciler task panicked")?;
                }
                consumed.context("the consumer stopped")
            })
            .await
    }
}

/// `<host>-<pid>-<random>`: unique per process, readable in `kubectl get lease`.
fn default_identity() -> String {
    let host =
        std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "provisioner".into());
    format!("{host}-{}-{:04x}", std::process::id(), fastrand::u16(..))
}
