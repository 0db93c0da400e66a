//! `eda-faults [SCENARIO…]`: the fault-injection suite (all scenarios without arguments;
//! `single`, `cluster` or `tenants` for one group). Needs the release `dbwriter` and
//! `provisioner` binaries next to this one (scripts/faults.sh builds them); the `cluster-…`
//! (dbwriter) and `tenants-…` (provisioner, on the test control plane) scenarios start the
//! three-node RabbitMQ cluster.
//! Exits non-zero if any scenario lost or doubled something.

use std::path::PathBuf;

use eda_bench::faults::{self, CLUSTER_SCENARIOS, SCENARIOS, TENANT_SCENARIOS};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    eda_common::telemetry::init_for_tests();
    let bin_dir: PathBuf = std::env::current_exe()?.parent().map(PathBuf::from).unwrap_or_default();
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let mut outcomes = Vec::new();
    let chosen = |s: &&str| wanted.is_empty() || wanted.iter().any(|w| w == s || w == faults::group(s));
    for name in SCENARIOS.iter().chain(CLUSTER_SCENARIOS).chain(TENANT_SCENARIOS).copied().filter(chosen) {
        eprintln!("fault scenario {name} …");
        let outcome = faults::run(name, bin_dir.clone()).await;
        eprintln!("  {}", if outcome.passed() { "ok" } else { "FAILED" });
        outcomes.push(outcome);
    }
    println!("{}", faults::table(&outcomes));
    anyhow::ensure!(outcomes.iter().all(|o| o.passed()), "a fault scenario failed");
    Ok(())
}
