use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = dbwriter::Config::parse();
    eda_common::telemetry::init(config.common.log_format);
    dbwriter::run(config, eda_common::shutdown::signal()).await
}
