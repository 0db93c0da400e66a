use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = provisioner::Config::parse();
    let _telemetry = eda_common::telemetry::init(config.common.log_format, "provisioner")?;
    provisioner::run(config, eda_common::shutdown::signal()).await
}
