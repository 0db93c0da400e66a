//! The dbwriter application: the service skeleton (health, broker, HTTP), the database, and
//! the batch consumer that ties them together; built before it runs so tests can read its port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eda_common::delivery::{self, BatchSpec, ConsumerSpec};
use eda_common::health::Readiness;
use eda_common::metrics::Metrics;
use eda_common::retry::Backoff;
use eda_common::service::{Service, Serving};
use eda_common::shutdown::Shutdown;
use eda_common::topology::ServiceQueue;
use secrecy::ExposeSecret;
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

use crate::metrics::WriteMetrics;
use crate::{db, Config, Store, DEFAULT_HTTP_PORT, SERVICE};

/// How long a dead-letter publish may wait for the broker's confirm.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// A dbwriter whose HTTP listener is bound and whose broker connection is starting.
#[derive(Debug)]
pub struct Application {
    config: Config,
    serving: Serving,
    db_options: PgConnectOptions,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let db_options = db::connect_options(&config.database_url, &config.common.prefix)?;
        let service = Service::start(&config.common, SERVICE, PUBLISH_TIMEOUT);
        service.readiness().set("database", false);
        let addr = config.common.http_addr_or(DEFAULT_HTTP_PORT);
        let serving = service.serve(addr).await?;
        tracing::info!(
            http = %serving.local_addr(),
            broker = %config.common.amqp_url_redacted(),
            database = %eda_common::config::redact_url(config.database_url.expose_secret()),
            batch_size = config.batch_size,
            batch_wait_ms = config.batch_wait.as_millis() as u64,
            "dbwriter starting"
        );
        Ok(Application { config, serving, db_options })
    }

    /// The address `/healthz`, `/readyz` and `/metrics` are served on.
    pub fn local_addr(&self) -> SocketAddr {
        self.serving.local_addr()
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn readiness(&self) -> &Readiness {
        self.serving.service.readiness()
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        self.serving.service.metrics()
    }

    /// Prepares the database (retrying while it is unreachable), then consumes until `shutdown`.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let Application { config, serving, db_options } = self;
        serving
            .run(shutdown, |service, stop| async move {
                let Some(pool) = prepare_database(&db_options, config.batches_in_flight, &stop).await? else {
                    return Ok(());
                };
                let health = &service.health;
                health.readiness.set("database", true);
                let store = Store::new(
                    pool.clone(),
                    WriteMetrics::register(&health.metrics),
                    health.readiness.clone(),
                );
                let spec = ConsumerSpec {
                    queue: ServiceQueue { service: SERVICE.into(), bindings: vec!["#".into()] },
                    concurrency: 1,
                    // dbwriter is the audit log: it stores `failed` events, it does not add its own.
                    emit_failed: false,
                };
                let batch = BatchSpec {
                    max_size: usize::from(config.batch_size),
                    max_wait: config.batch_wait,
                    in_flight: usize::from(config.batches_in_flight),
                };
                let consumed =
                    delivery::run_batches(&service.publisher, spec, batch, Arc::new(store), stop).await;
                pool.close().await;
                consumed
            })
            .await
    }
}

/// The pool, once the database exists and is migrated; `None` if shutdown came first. An
/// unreachable server is waited for; a migration that cannot apply stops the service.
async fn prepare_database(
    options: &PgConnectOptions,
    writers: u8,
    shutdown: &Shutdown,
) -> anyhow::Result<Option<PgPool>> {
    let mut backoff = Backoff::retrying();
    loop {
        match db::prepare(options, writers).await {
            Ok(pool) => return Ok(Some(pool)),
            Err(error) if error.is_transient() => {
                let delay = backoff.next_delay();
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "database not ready");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {},
                    () = shutdown.cancelled() => return Ok(None),
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
}
