//! dbwriter: persists every event (the audit log) and each deployment's state in PostgreSQL,
//! in batches, exactly once per message id.
//!
//! Error policy: [`Error`] names what failed; database errors are classified at their source
//! ([`classify::is_transient`]): an outage keeps the whole batch in the broker, a message whose data
//! PostgreSQL refuses is dead-lettered alone.

mod app;
pub mod classify;
pub mod config;
pub mod db;
pub mod deployments;
mod error;
pub mod metrics;
pub mod row;
mod store;

use eda_common::shutdown::Shutdown;

pub use app::Application;
pub use config::Config;
pub use error::{Error, Result};
pub use row::EventRow;
pub use store::Store;

/// The service name: queue `<prefix>.dbwriter`, metrics label, AMQP app id.
pub const SERVICE: &str = "dbwriter";
/// Default port of `/healthz`, `/readyz` and `/metrics` (DESIGN.md §6).
pub const DEFAULT_HTTP_PORT: u16 = 9092;
/// Runs the dbwriter until `shutdown`.
pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    app.run_until_stopped(shutdown).await
}
