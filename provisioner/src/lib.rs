//! provisioner: Turns purchases into Kubernetes namespaces and Helm releases.

use eda_common::shutdown::Shutdown;

/// Settings of the provisioner, from flags or environment variables.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "provisioner",
    version,
    about = "Turns purchases into Kubernetes namespaces and Helm releases"
)]
pub struct Config {
    #[command(flatten)]
    pub common: eda_common::CommonArgs,
}

/// Runs the provisioner until `shutdown`.
pub async fn run(_config: Config, _shutdown: Shutdown) -> anyhow::Result<()> {
    anyhow::bail!("the provisioner is not implemented yet")
}
