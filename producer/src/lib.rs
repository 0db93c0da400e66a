//! producer: the client portal and order API. A purchase enters the system here as a
//! `published` event (DESIGN.md §5); the live status of its trace comes back over SSE.

pub mod api;
pub mod auth;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod error;
pub mod feed;
pub mod http_metrics;
pub mod ledger;
pub mod order;
pub mod portal;
pub mod startup;
pub mod state;

pub use cli::Cli;
pub use config::Config;
pub use startup::Application;

use eda_common::shutdown::Shutdown;

/// Runs the producer until `shutdown`.
pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    app.run_until_stopped(shutdown).await
}
