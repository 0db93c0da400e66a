//! The command line: `run` (the engine), `log` (the tap), `bridge` and `dlq`, each with the
//! shared flags, plus DESIGN.md §5's short forms (`consumer --name … --bind …`, `--bridge-from`).

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use eda_common::config::parse_duration;
use eda_common::CommonArgs;

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
    /// Name of this step (`CONSUMER_NAME`): queue `<prefix>.<NAME>`, app segment of what it emits.
    #[arg(long, env = "CONSUMER_NAME", required = true)]
    pub name: String,

    /// Routing-key pattern to bind on `<prefix>.events` (repeatable; `CONSUMER_BIND`, comma-separated).
    #[arg(long = "bind", env = "CONSUMER_BIND", value_delimiter = ',', required = true)]
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

#[derive(Args, Debug, Clone)]
pub struct DlqCommand {
    #[command(subcommand)]
    pub action: DlqAction,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What to do with the parking lot.
#[derive(Subcommand, Debug, Clone)]
pub enum DlqAction {
    /// Show the dead letters as a table (or JSON lines); removes nothing.
    List(ListArgs),
    /// Send dead letters back to the queue each failed in.
    Replay(ReplayArgs),
}

#[derive(Args, Debug, Clone, Default)]
pub struct ListArgs {
    /// Show at most N messages.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Only messages of this trace.
    #[arg(long)]
    pub trace_id: Option<uuid::Uuid>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone, Default)]
#[group(id = "selection", required = true, multiple = false, args = ["trace_id", "all"])]
pub struct ReplayArgs {
    /// Replay only the messages of this trace.
    #[arg(long)]
    pub trace_id: Option<uuid::Uuid>,
    /// Replay every message.
    #[arg(long)]
    pub all: bool,
    /// Print what would be replayed; publish nothing, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The one thing a parsed command line asks for.
#[derive(Debug, Clone)]
pub enum Mode {
    Run(Box<RunArgs>, CommonArgs),
    Log(LogArgs, CommonArgs),
    Bridge(BridgeArgs, CommonArgs),
    Dlq(DlqAction, CommonArgs),
}

impl Config {
    /// Resolves the short forms; an error says what is missing.
    pub fn mode(self) -> Result<Mode, crate::Error> {
        match (self.command, self.run, self.bridge_from) {
            (Some(Command::Run(c)), _, _) => Ok(Mode::Run(Box::new(c.run), c.common)),
            (Some(Command::Log(c)), _, _) => Ok(Mode::Log(c.log, c.common)),
            (Some(Command::Bridge(c)), _, _) => Ok(Mode::Bridge(c.bridge, c.common)),
            (Some(Command::Dlq(c)), _, _) => Ok(Mode::Dlq(c.action, c.common)),
            (None, _, Some(from)) => Ok(Mode::Bridge(BridgeArgs { from }, self.common)),
            (None, Some(run), None) => Ok(Mode::Run(Box::new(run), self.common)),
            (None, None, None) => Err(crate::Error::Usage(
                "nothing to do: use `consumer run --name NAME --bind PATTERN …`, `log`, `bridge` or `dlq` (see --help)"
                    .into(),
            )),
        }
    }

    /// The shared flags of whichever form was used.
    pub fn common(&self) -> &CommonArgs {
        match &self.command {
            Some(Command::Run(c)) => &c.common,
            Some(Command::Log(c)) => &c.common,
            Some(Command::Bridge(c)) => &c.common,
            Some(Command::Dlq(c)) => &c.common,
            None => &self.common,
        }
    }
}

impl Config {
    /// True for the modes whose stdout carries their output (`log`, `run` without a handler, `dlq`).
    pub fn prints_to_stdout(&self) -> bool {
        let no_handler = |r: &RunArgs| r.exec.is_none() && r.webhook.is_none();
        match (&self.command, &self.run) {
            (Some(Command::Log(_)), _) | (Some(Command::Dlq(_)), _) => true,
            (Some(Command::Run(c)), _) => no_handler(&c.run),
            (None, Some(r)) => self.bridge_from.is_none() && no_handler(r),
            _ => false,
        }
    }
}
