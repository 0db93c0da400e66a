//! k8s-event-exporter: Publishes Kubernetes events tagged with the purchase's trace id.

use eda_common::shutdown::Shutdown;

/// Settings of the k8s-event-exporter, from flags or environment variables.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "k8s-event-exporter",
    version,
    about = "Publishes Kubernetes events tagged with the purchase's trace id"
)]
pub struct Config {
    #[command(flatten)]
    pub common: eda_common::CommonArgs,
}

/// Runs the k8s-event-exporter until `shutdown`.
pub async fn run(_config: Config, _shutdown: Shutdown) -> anyhow::Result<()> {
    anyhow::bail!("the k8s-event-exporter is not implemented yet")
}
