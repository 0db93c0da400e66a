//! The batch handler: one transaction per batch, set-based inserts, deployments in the same
//! transaction; an outage fails the whole batch (kept in the broker), bad data fails one message.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use eda_common::delivery::{BatchHandler, HandlerError, Message};
use eda_common::health::Readiness;
use sqlx::{Connection, PgConnection, PgPool};

use crate::classify::{blames_the_data, sql_state};
use crate::deployments::{self, DeploymentKey};
use crate::metrics::WriteMetrics;
use crate::row::{self, EventRow};

/// Writes batches of messages to PostgreSQL.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    metrics: WriteMetrics,
    readiness: Readiness,
}

/// What a committed batch did.
#[derive(Debug, Default)]
struct Written {
    inserted: u64,
    /// Index in the batch → why PostgreSQL refused that message.
    rejected: HashMap<usize, String>,
}

impl Store {
    pub fn new(pool: PgPool, metrics: WriteMetrics, readiness: Readiness) -> Self {
        Store { pool, metrics, readiness }
    }

    /// Writes `rows` in one transaction; row by row (with savepoints) only when the set-based
    /// insert blames the data, to find the messages PostgreSQL refuses.
    async fn write(&self, rows: &[EventRow]) -> sqlx::Result<Written> {
        let unique = first_of_each_id(rows);
        let mut conn = self.pool.acquire().await?;
        let written = match write_all(&mut conn, rows, &unique).await {
            Err(error) if blames_the_data(&error) => {
                tracing::warn!(%error, batch = rows.len(), "a message in the batch was refused; writing row by row");
                write_one_by_one(&mut conn, rows, &unique).await
            }
            other => other,
        };
        if written.is_err() {
            // A session that failed may be read-only or half-dead: the retry gets a fresh one.
            conn.close_on_drop();
        }
        written
    }

    fn record(&self, messages: &[Message], rows: &[EventRow], written: &Written) {
        let accepted = rows.len() - rejected_count(rows, written);
        self.metrics.rows_inserted.inc_by(written.inserted);
        self.metrics.duplicates_skipped.inc_by((accepted as u64).saturating_sub(written.inserted));
        self.metrics.rows_rejected.inc_by((rows.len() - accepted) as u64);
        if let Some(newest) = messages.last() {
            let lag = newest.received_at - newest.envelope.attributes.published_on;
            self.metrics.lag_seconds.set(lag.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6);
        }
    }
}

impl BatchHandler for Store {
    async fn handle_batch(
        &self,
        messages: &[Message],
    ) -> Result<Vec<Result<(), HandlerError>>, HandlerError> {
        let rows: Vec<EventRow> = messages.iter().map(EventRow::from_message).collect();
        let started = Instant::now();
        let written = match self.write(&rows).await {
            Ok(written) => written,
            Err(error) => {
                self.metrics.database_errors.inc();
                self.readiness.set("database", false);
                let code = sql_state(&error).map(|c| format!(" (SQLSTATE {c})")).unwrap_or_default();
                return Err(HandlerError::transient(format!("database unavailable{code}: {error}")));
            }
        };
        self.metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
        self.readiness.set("database", true);
        self.record(messages, &rows, &written);
        let by_id: HashMap<&str, &String> =
            written.rejected.iter().map(|(&i, reason)| (rows[i].message_id.as_str(), reason)).collect();
        Ok(rows
            .iter()
            .map(|r| match by_id.get(r.message_id.as_str()) {
                Some(reason) => Err(HandlerError::permanent(reason)),
                None => Ok(()),
            })
            .collect())
    }
}

async fn write_all(conn: &mut PgConnection, rows: &[EventRow], unique: &[usize]) -> sqlx::Result<Written> {
    let mut tx = conn.begin().await?;
    let batch: Vec<&EventRow> = unique.iter().map(|&i| &rows[i]).collect();
    let inserted = row::insert(&mut tx, &batch).await?;
    deployments::apply(&mut tx, &keys(batch)).await?;
    tx.commit().await?;
    Ok(Written { inserted, rejected: HashMap::new() })
}

async fn write_one_by_one(
    conn: &mut PgConnection,
    rows: &[EventRow],
    unique: &[usize],
) -> sqlx::Result<Written> {
    let mut tx = conn.begin().await?;
    let mut written = Written::default();
    let mut accepted = Vec::with_capacity(unique.len());
    for &i in unique {
        let mut savepoint = tx.begin().await?;
        match row::insert(&mut savepoint, &[&rows[i]]).await {
            Ok(n) => {
                savepoint.commit().await?;
                written.inserted += n;
                accepted.push(&rows[i]);
            }
            Err(error) if blames_the_data(&error) => {
                savepoint.rollback().await?;
                let code = sql_state(&error).unwrap_or_default();
                written
                    .rejected
                    .insert(i, format!("PostgreSQL refused the event (SQLSTATE {code}): {error}"));
            }
            Err(error) => return Err(error),
        }
    }
    deployments::apply(&mut tx, &keys(accepted)).await?;
    tx.commit().await?;
    Ok(written)
}

/// Indexes of the first row of each message id: a batch can hold a message and its redelivery.
fn first_of_each_id(rows: &[EventRow]) -> Vec<usize> {
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    (0..rows.len()).filter(|&i| seen.insert(rows[i].message_id.as_str())).collect()
}

fn rejected_count(rows: &[EventRow], written: &Written) -> usize {
    let ids: BTreeSet<&str> = written.rejected.keys().map(|&i| rows[i].message_id.as_str()).collect();
    rows.iter().filter(|r| ids.contains(r.message_id.as_str())).count()
}

/// The deployments the rows drive, each once.
fn keys<'a>(rows: impl IntoIterator<Item = &'a EventRow>) -> Vec<DeploymentKey> {
    let keys: BTreeSet<DeploymentKey> = rows
        .into_iter()
        .filter_map(|r| {
            let (namespace, release) = (r.namespace.clone()?, r.release.clone()?);
            Some(DeploymentKey { namespace, release })
        })
        .collect();
    keys.into_iter().collect()
}
