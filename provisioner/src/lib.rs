//! provisioner: turns purchases into Kubernetes namespaces and Helm releases.
//!
//! On `published`: validate the order, publish `provisioning`, server-side apply the tenant
//! baseline (Namespace, ResourceQuota, LimitRange, NetworkPolicy), deploy the release (helm or
//! Flux), publish `provisioned`. On `cancelled`: uninstall, publish `deprovisioned`.
//! `--mode plan` does all of it on paper. See docs/provisioner.md.

pub mod app;
pub mod catalog;
pub mod cluster;
pub mod config;
pub mod deploy;
pub mod error;
pub mod events;
pub mod handler;
pub mod metrics;
pub mod objects;
pub mod order;
pub mod values;

pub use app::Application;
pub use config::Config;
pub use eda_common::shutdown::Shutdown;
pub use error::{Error, Result};

/// Runs the provisioner until `shutdown`.
pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    Application::build(config).await?.run_until_stopped(shutdown).await
}
