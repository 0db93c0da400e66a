use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = provisioner::Config::parse();
    eda_common::telemetry::init(config.common.log_format);
    provisioner::run(config, eda_common::shutdown::signal()).await
}
