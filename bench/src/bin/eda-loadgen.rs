//! `eda-loadgen`: PerfTest-style load against the eda runtime.
//!
//! `eda-loadgen --rate 1000 --count 30000` publishes through the eda Publisher (confirms,
//! every §2 property) and consumes back from `<prefix>.loadgen-sink`, then prints publish and
//! consume rates and end-to-end latency p50/p95/p99.

use clap::Parser;
use eda_bench::loadgen::{self, LoadSpec};

#[derive(Parser, Debug)]
#[command(name = "eda-loadgen", about = "PerfTest-style load generator for the eda runtime")]
struct Cli {
    #[command(flatten)]
    common: eda_common::CommonArgs,
    #[command(flatten)]
    load: LoadSpec,
    /// Runs to take the median of.
    #[arg(long, default_value_t = 1)]
    runs: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = eda_common::telemetry::init(cli.common.log_format, "eda-loadgen")?;
    println!("| run | published | publish msg/s | consumed | consume msg/s | latency p50 / p95 / p99 |");
    println!("| --- | ---: | ---: | ---: | ---: | --- |");
    for run in 1..=cli.runs {
        let mut r = loadgen::run(&cli.common, &cli.load).await?;
        println!(
            "| {run} | {} | {:.0} | {} | {:.0} | {} |",
            r.published,
            r.publish_rate(),
            r.consumed,
            r.consume_rate(),
            r.latency.summary()
        );
    }
    Ok(())
}
