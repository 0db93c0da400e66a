//! The fault-injection suite: each scenario breaks something under load and checks that
//! nothing was lost and no effect happened twice. Run with `scripts/faults.sh`; it restarts the
//! machine's RabbitMQ and PostgreSQL, so it never runs beside the normal tests.

pub mod proxy;
mod scenarios;
pub mod world;

use std::time::Duration;

pub use scenarios::{run, SCENARIOS};

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
    pub error: Option<String>,
}

impl Outcome {
    /// Nothing lost, nothing doubled, nothing dead-lettered that should not be.
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self.stored == self.sent
            && self.duplicates == 0
            && self.dead_lettered == self.expected_dead
    }
}

/// The table `scripts/faults.sh` prints (Markdown, ready for docs/benchmarks.md).
pub fn table(outcomes: &[Outcome]) -> String {
    let mut out =
        String::from("| scenario | sent | stored | duplicates | dead-lettered | recovery | result |\n");
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for o in outcomes {
        let result = match (&o.error, o.passed()) {
            (Some(e), _) => format!("FAILED: {e}"),
            (None, true) => "ok".into(),
            (None, false) => "FAILED".into(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1} s | {result} |\n",
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
