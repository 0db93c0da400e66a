//! The command line: `run` (the engine), `log` (the tap), `bridge`, `dlq` and `topology`, each with the
//! shared flags, plus DESIGN.md §5's short forms (`consumer --name … --bind …`, `--bridge-from`).

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use eda_common::config::parse_duration;
use eda_common::CommonArgs;

mod dlq;
mod mode;
mod topology;

pub use dlq::{DlqAction, DlqCommand, ListArgs, ReplayArgs};
pub use mode::Mode;
pub use topology::{CheckArgs, TopologyAction, TopologyCommand};

/// Settings of the consumer, from flags or environment variables.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "consumer",
    version,
    about = "Generic engine: hands events to business code in any language",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Config {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `consumer --name NAME --bind …` without the `run` word (DESIGN.md §5).
    #[command(flatten)]
    pub run: Option<RunArgs>,

    /// `consumer --bridge-from QUEUE`: the same as `consumer bridge --from QUEUE`.
    #[arg(long = "bridge-from", value_name = "QUEUE", conflicts_with = "name")]
    pub bridge_from: Option<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// What to do.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Hand each event to a command or a webhook and publish what it returns.
    Run(Box<RunCommand>),
    /// Print each event as one JSON line on stdout (the audit/debug tap).
    Log(LogCommand),
    /// Move messages from a legacy queue into `<prefix>.events`.
    Bridge(BridgeCommand),
    /// Inspect and replay the dead-letter queue `<prefix>.dead`.
    Dlq(DlqCommand),
    /// Check the broker's topology against what eda needs (a preflight before installing).
    Topology(TopologyCommand),
}

#[derive(Args, Debug, Clone)]
pub struct RunCommand {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The engine: which events, which business code, how.
#[derive(Args, Debug, Clone)]
#[group(id = "engine")]
pub struct RunArgs {
    /// Name of this step (`CONSUMER_NAME`, required): queue `<prefix>.<NAME>`, app segment of what it emits.
    // Checked in `Config::mode`, not by clap: the top-level short form makes these optional there.
    #[arg(long, env = "CONSUMER_NAME", default_value = "", hide_default_value = true)]
    pub name: String,

    /// Routing-key pattern to bind on `<prefix>.events` (repeatable, required; `CONSUMER_BIND`, comma-separated).
    #[arg(long = "bind", env = "CONSUMER_BIND", value_delimiter = ',')]
    pub bindings: Vec<String>,

    /// Command run per event, envelope JSON on stdin (`CONSUMER_EXEC`); split like a shell would, never run by one.
    #[arg(long = "exec", env = "CONSUMER_EXEC", conflicts_with = "webhook")]
    pub exec: Option<String>,

    /// URL the envelope is POSTed to per event (`CONSUMER_WEBHOOK`).
    #[arg(long, env = "CONSUMER_WEBHOOK")]
    pub webhook: Option<String>,

    /// Action of the follow-up event built from the handler's JSON output (`CONSUMER_EMIT`; default `processed`).
    #[arg(long, env = "CONSUMER_EMIT")]
    pub emit: Option<String>,

    /// Events handled at once (`CONSUMER_CONCURRENCY`).
    #[arg(long, env = "CONSUMER_CONCURRENCY", default_value_t = 4)]
    pub concurrency: usize,

    /// Time one handler run may take before it is killed and retried (`CONSUMER_TIMEOUT`).
    #[arg(long, env = "CONSUMER_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Handle the events of one client one at a time, in arrival order (`CONSUMER_ORDERED`).
    #[arg(long, env = "CONSUMER_ORDERED")]
    pub ordered: bool,
}

#[derive(Args, Debug, Clone)]
pub struct LogCommand {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The tap: which events to print.
#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    /// Routing-key pattern to bind on `<prefix>.events` (repeatable; `CONSUMER_BIND`).
    #[arg(long = "bind", env = "CONSUMER_BIND", value_delimiter = ',', required = true)]
    pub bindings: Vec<String>,

    /// Name of the tap's durable queue `<prefix>.<NAME>` (`CONSUMER_NAME`).
    #[arg(long, env = "CONSUMER_NAME", default_value = "log")]
    pub name: String,
}

#[derive(Args, Debug, Clone)]
pub struct BridgeCommand {
    #[command(flatten)]
    pub bridge: BridgeArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The legacy-queue bridge.
#[derive(Args, Debug, Clone)]
pub struct BridgeArgs {
    /// Legacy queue on the default exchange to drain (`CONSUMER_BRIDGE_FROM`), e.g. `infra`.
    #[arg(long = "from", env = "CONSUMER_BRIDGE_FROM")]
    pub from: String,
}
