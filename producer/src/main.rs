use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = producer::Config::parse();
    eda_common::telemetry::init(config.common.log_format);
    producer::run(config, eda_common::shutdown::signal()).await
}
