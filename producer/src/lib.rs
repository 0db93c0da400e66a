//! producer: Client portal and order API: publishes purchases as events.

use eda_common::shutdown::Shutdown;

/// Settings of the producer, from flags or environment variables.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "producer", version, about = "Client portal and order API: publishes purchases as events")]
pub struct Config {
    #[command(flatten)]
    pub common: eda_common::CommonArgs,
}

/// Runs the producer until `shutdown`.
pub async fn run(_config: Config, _shutdown: Shutdown) -> anyhow::Result<()> {
    anyhow::bail!("the producer is not implemented yet")
}
