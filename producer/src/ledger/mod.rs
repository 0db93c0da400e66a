//! The ledger (the dbwriter's PostgreSQL), read through a read-only role (`PRODUCER_DATABASE_URL`,
//! DESIGN.md §10): the tenants page's rows ([`tenants`]) and the timelines of traces the status
//! cache no longer holds ([`timeline`]). Optional: without it the producer serves everything else.

pub mod tenants;
pub mod timeline;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

pub use tenants::{Cursor, Tenant, TenantPage, TenantQuery};

/// How long a request waits for a ledger connection before it answers 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the ledger could not answer.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Unreachable, restarting, too slow, or refusing this role: retrying may help.
    #[error("the ledger could not be read: {0}")]
    Unavailable(#[from] sqlx::Error),
}

/// A pool of read-only sessions on the ledger; cheap to clone.
#[derive(Clone, Debug)]
pub struct Ledger {
    pool: PgPool,
}

impl Ledger {
    /// The pool for `url`, connecting lazily: the producer starts (and takes orders) while the
    /// ledger is down. Sessions are read-only and named `eda-producer-<prefix>` in
    /// `pg_stat_activity`. Only a URL that cannot be parsed is an error.
    pub fn connect(url: &SecretString, pool_size: u32, prefix: &str) -> anyhow::Result<Ledger> {
        let options = PgConnectOptions::from_str(url.expose_secret())
            .context("PRODUCER_DATABASE_URL is not a PostgreSQL URL")?
            .application_name(&format!("eda-producer-{prefix}"));
        let pool = PgPoolOptions::new()
            .max_connections(pool_size)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // The role already cannot write; a read-only session says so twice.
                    conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY").await?;
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Ok(Ledger { pool })
    }

    /// The pool, for the queries of this module's children.
    fn pool(&self) -> &PgPool {
        &self.pool
    }
}
