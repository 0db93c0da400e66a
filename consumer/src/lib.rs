//! consumer: Generic engine: hands events to business code in any language.

use eda_common::shutdown::Shutdown;

/// Settings of the consumer, from flags or environment variables.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "consumer",
    version,
    about = "Generic engine: hands events to business code in any language"
)]
pub struct Config {
    #[command(flatten)]
    pub common: eda_common::CommonArgs,
}

/// Runs the consumer until `shutdown`.
pub async fn run(_config: Config, _shutdown: Shutdown) -> anyhow::Result<()> {
    anyhow::bail!("the consumer is not implemented yet")
}
