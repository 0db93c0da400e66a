use clap::Parser;

/// Every message is decoded into many small allocations and freed a batch later on another
/// thread: mimalloc keeps that cheap where glibc's allocator spent a fifth of the service's CPU
/// (docs/benchmarks/dbwriter.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = dbwriter::Config::parse();
    let _telemetry = eda_common::telemetry::init(config.common.log_format, "dbwriter")?;
    dbwriter::run(config, eda_common::shutdown::signal()).await
}
