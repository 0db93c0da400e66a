use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = k8s_event_exporter::Config::parse();
    eda_common::telemetry::init(config.common.log_format);
    k8s_event_exporter::run(config, eda_common::shutdown::signal()).await
}
