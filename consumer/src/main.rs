use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = consumer::Config::parse();
    if config.prints_to_stdout() && std::env::var_os("RUST_LOG").is_none() {
        // Event lines share stdout with the logs: keep the logs to what needs attention.
        std::env::set_var("RUST_LOG", "warn");
    }
    let _telemetry = eda_common::telemetry::init(config.common().log_format, "consumer")?;
    consumer::run(config, eda_common::shutdown::signal()).await
}
