use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = consumer::Config::parse();
    if let (Some(filter), None) = (config.default_log_filter(), std::env::var_os("RUST_LOG")) {
        // Output shares stdout with the logs: keep the logs to what needs attention.
        std::env::set_var("RUST_LOG", filter);
    }
    let _telemetry = eda_common::telemetry::init(config.common().log_format, "consumer")?;
    consumer::run(config, eda_common::shutdown::signal()).await
}
