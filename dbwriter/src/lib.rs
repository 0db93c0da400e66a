//! dbwriter: Persists every event and each deployment's state in PostgreSQL.

use eda_common::shutdown::Shutdown;

/// Settings of the dbwriter, from flags or environment variables.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "dbwriter",
    version,
    about = "Persists every event and each deployment's state in PostgreSQL"
)]
pub struct Config {
    #[command(flatten)]
    pub common: eda_common::CommonArgs,
}

/// Runs the dbwriter until `shutdown`.
pub async fn run(_config: Config, _shutdown: Shutdown) -> anyhow::Result<()> {
    anyhow::bail!("the dbwriter is not implemented yet")
}
