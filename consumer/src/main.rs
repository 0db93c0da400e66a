use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = consumer::Config::parse();
    eda_common::telemetry::init(config.common.log_format);
    consumer::run(config, eda_common::shutdown::signal()).await
}
