//! `consumer dlq list|replay`: what to show and what to send back.

use clap::{Args, Subcommand};
use eda_common::CommonArgs;

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
pub struct ReplayArgs {
    /// Replay only the messages of this trace.
    #[arg(long, conflicts_with = "all", required_unless_present = "all")]
    pub trace_id: Option<uuid::Uuid>,
    /// Replay every message.
    #[arg(long)]
    pub all: bool,
    /// Print what would be replayed; publish nothing, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}
