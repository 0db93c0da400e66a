//! The dbwriter's settings, from flags or environment variables (DESIGN.md §5).

use std::time::Duration;

use secrecy::SecretString;

/// The database used when `DATABASE_URL` is unset.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/eda";
/// `--batch-size` when unset (DESIGN.md §5).
pub const DEFAULT_BATCH_SIZE: u16 = 500;
/// `--batch-wait` when unset (DESIGN.md §5).
pub const DEFAULT_BATCH_WAIT: &str = "50ms";
/// `--batches-in-flight` when unset.
pub const DEFAULT_BATCHES_IN_FLIGHT: u8 = 2;

/// Settings of the dbwriter, from flags or environment variables.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "dbwriter",
    version,
    about = "Persists every event and each deployment's state in PostgreSQL"
)]
pub struct Config {
    #[command(flatten)]
    pub common: eda_common::CommonArgs,

    /// Messages written per transaction at most (`DBWRITER_BATCH_SIZE`, default 500).
    #[arg(long, env = "DBWRITER_BATCH_SIZE", default_value_t = DEFAULT_BATCH_SIZE, value_parser = clap::value_parser!(u16).range(1..))]
    pub batch_size: u16,

    /// The longest a message waits for its batch (`DBWRITER_BATCH_WAIT`, default 50ms). Batches
    /// are group commits, handed over as soon as a writer is free, so it always holds.
    #[arg(long, env = "DBWRITER_BATCH_WAIT", default_value = DEFAULT_BATCH_WAIT, value_parser = eda_common::config::parse_duration)]
    pub batch_wait: Duration,

    /// Batches written at once, each in its own transaction on its own connection; they are
    /// still acked in order (`DBWRITER_BATCHES_IN_FLIGHT`, default 2). One leaves PostgreSQL idle
    /// while the next statement is built; more than two pays only with spare CPU for PostgreSQL.
    #[arg(long, env = "DBWRITER_BATCHES_IN_FLIGHT", default_value_t = DEFAULT_BATCHES_IN_FLIGHT, value_parser = clap::value_parser!(u8).range(1..=16))]
    pub batches_in_flight: u8,

    /// PostgreSQL URL; the database is created if missing (`DATABASE_URL`, default
    /// `postgres://postgres@127.0.0.1:5432/eda`). Logged only with its password hidden.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: SecretString,
}

impl Config {
    /// The flags' defaults, for a test on `prefix` writing to `database_url` (not read from the
    /// environment, so a developer's `DBWRITER_*` variables do not leak into tests).
    pub fn for_prefix(prefix: &str, database_url: &str) -> Self {
        Config {
            common: eda_common::CommonArgs::for_prefix(prefix),
            batch_size: DEFAULT_BATCH_SIZE,
            batch_wait: eda_common::config::parse_duration(DEFAULT_BATCH_WAIT).expect("a valid default"),
            batches_in_flight: DEFAULT_BATCHES_IN_FLIGHT,
            database_url: database_url.into(),
        }
    }
}
