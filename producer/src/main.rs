use clap::Parser;
use producer::cli::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::HashPassword) = cli.command {
        println!("{}", producer::cli::hash_password_from_stdin()?);
        return Ok(());
    }
    let _telemetry = eda_common::telemetry::init(cli.config.common.log_format, "producer")?;
    producer::run(cli.config, eda_common::shutdown::signal()).await
}
