//! The fault-injection suite: each scenario breaks something under load and checks that
//! nothing was lost and no effect happened twice. Run with `scripts/faults.sh`; it restarts the
//! machine's RabbitMQ and PostgreSQL, so it never runs beside the normal tests.

mod cluster;
pub mod proxy;
mod scenarios;
mod tenants;
pub mod world;

use std::time::Duration;

pub use cluster::CLUSTER_SCENARIOS;
pub use scenarios::SCENARIOS;
pub use tenants::TENANT_SCENARIOS;

/// One scenario's result: a row of the printed table.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub scenario: &'static str,
    pub sent: i64,
    pub stored: i64,
    pub duplicates: i64,
    pub dead_lettered: u32,
    pub recovery: Duration,
    pub expected_dead: u32,
    /// Deployments not in their client's newest state (cluster scenarios; `None`: not checked).
    pub wrong_states: Option<i64>,
    pub error: Option<String>,
}

impl Outcome {
    /// Nothing lost, nothing doubled, nothing dead-lettered that should not be.
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self.stored == self.sent
            && self.duplicates == 0
            && self.dead_lettered == self.expected_dead
            && self.wrong_states.unwrap_or(0) == 0
    }
}

/// The group a scenario belongs to: `cluster` (dbwriters) and `tenants` (provisioners) on the
/// three-node cluster, `single` on the machine's broker.
pub fn group(name: &str) -> &'static str {
    if CLUSTER_SCENARIOS.contains(&name) {
        "cluster"
    } else if TENANT_SCENARIOS.contains(&name) {
        "tenants"
    } else {
        "single"
    }
}

/// Runs one scenario by name.
pub async fn run(name: &'static str, bin_dir: std::path::PathBuf) -> Outcome {
    match group(name) {
        "cluster" => cluster::run(name, bin_dir).await,
        "tenants" => tenants::run(name, bin_dir).await,
        _ => scenarios::run(name, bin_dir).await,
    }
}

/// The table `scripts/faults.sh` prints (Markdown, ready for docs/benchmarks.md).
pub fn table(outcomes: &[Outcome]) -> String {
    let mut out = String::from(
        "| scenario | sent | stored | duplicates | dead-lettered | states wrong | recovery | result |\n",
    );
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for o in outcomes {
        let result = match (&o.error, o.passed()) {
            (Some(e), _) => format!("FAILED: {e}"),
            (None, true) => "ok".into(),
            (None, false) => "FAILED".into(),
        };
        let states = o.wrong_states.map_or_else(|| "—".to_owned(), |n| n.to_string());
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {states} | {:.1} s | {result} |\n",
            o.scenario,
            o.sent,
            o.stored,
            o.duplicates,
            o.dead_lettered,
            o.recovery.as_secs_f64()
        ));
    }
    out
}
