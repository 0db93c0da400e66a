use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = k8s_event_exporter::Config::parse();
    let _telemetry = eda_common::telemetry::init(config.common.log_format, "k8s-event-exporter")?;
    // kube (ring) and lapin (aws-lc-rs) both enable a rustls provider, so pick one explicitly.
    rustls::crypto::ring::default_provider().install_default().ok();
    k8s_event_exporter::run(config, eda_common::shutdown::signal()).await
}
