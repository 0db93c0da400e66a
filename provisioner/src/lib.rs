//! provisioner: turns purchases into Kubernetes namespaces and Helm releases.
//!
//! An order (`published`, `cancelled`) is validated and written as its tenant's desired state,
//! a `Tenant` resource, only if it is newer than the tenant's newest order (else it is acked
//! and answered with `superseded`). A reconciler, active on one replica (a Lease), drives the
//! tenant baseline (Namespace, ResourceQuota, LimitRange, NetworkPolicy) and the release (helm
//! or Flux) to it and publishes `provisioning`, `provisioned`, `failed`, `deprovisioned`.
//! `--mode plan` keeps Tenants in memory and does all of it on paper. See docs/provisioner.md.

pub mod app;
pub mod catalog;
pub mod cluster;
pub mod config;
pub mod database;
pub mod deploy;
pub mod error;
pub mod events;
pub mod handler;
pub mod metrics;
pub mod objects;
pub mod order;
pub mod reconcile;
pub mod target;
pub mod tenants;
pub mod values;

pub use app::Application;
pub use config::Config;
pub use eda_common::shutdown::Shutdown;
pub use error::{Error, Result};

/// Runs the provisioner until `shutdown`.
pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    Application::build(config).await?.run_until_stopped(shutdown).await
}
