//! k8s-event-exporter: publishes Kubernetes events tagged with the purchase's trace id.
//!
//! Watch (`source`) → bounded channel → decide and publish (`exporter`) → watermark
//! (`checkpoint`), run by the replica holding the Lease (`leader`); namespaces and their
//! trace ids come from a reflector (`namespaces`). See docs/k8s-event-exporter.md.

pub mod app;
pub mod checkpoint;
pub mod config;
pub mod dedupe;
pub mod envelope;
pub mod error;
pub mod exporter;
pub mod filter;
pub mod kube_event;
pub mod leader;
pub mod metrics;
pub mod namespaces;
pub mod pipeline;
pub mod pod_traces;
pub mod source;

use eda_common::shutdown::Shutdown;

pub use app::Application;
pub use config::Config;
pub use error::{Error, Result};

/// Runs the k8s-event-exporter until `shutdown`, against the cluster of the ambient
/// kubeconfig or in-cluster service account.
pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    use anyhow::Context;
    let client = kube::Client::try_default().await.context("failed to build a Kubernetes client")?;
    let app = Application::build(config, client).await.context("failed to start the exporter")?;
    tracing::info!(http = %app.local_addr(), "k8s-event-exporter started");
    app.run_until_stopped(shutdown).await
}
