//! Writing the deployments a batch touched: lock their keys, read their history from `events`
//! (which already holds the batch) from the stored cycle's start on, compute each state, upsert
//! them all in one statement. A deployment whose history sets no status (only `superseded`)
//! gets no row, and an unchanged state is not written again.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{current, DeploymentKey, HistoryEvent, Kind};

/// Recomputes the deployments of `keys` inside the batch's transaction.
pub async fn apply(tx: &mut PgConnection, keys: &[DeploymentKey]) -> sqlx::Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let namespaces: Vec<&str> = keys.iter().map(|k| k.namespace.as_str()).collect();
    let releases: Vec<&str> = keys.iter().map(|k| k.release.as_str()).collect();
    // Two dbwriter replicas writing the same deployment would each miss the other's uncommitted
    // events; the lock (taken in key order, so never a deadlock) makes the second one wait.
    sqlx::query(LOCK).bind(&namespaces).bind(&releases).execute(&mut *tx).await?;
    let rows: Vec<HistoryRow> =
        sqlx::query_as(HISTORY).bind(&namespaces).bind(&releases).fetch_all(&mut *tx).await?;

    let mut histories: BTreeMap<DeploymentKey, Vec<HistoryEvent>> = BTreeMap::new();
    for row in rows {
        let Some(kind) = Kind::from_action(&row.action) else { continue };
        histories.entry(DeploymentKey { namespace: row.namespace, release: row.release }).or_default().push(
            HistoryEvent {
                kind,
                at: row.published_on,
                message_id: row.message_id,
                trace_id: row.trace_id,
                event_type: row.event_type,
                client: row.client,
                product: row.product,
                environment: row.environment,
            },
        );
    }
    let mut up = Upsert::default();
    for (key, history) in &histories {
        let Some(state) = current(history) else { continue };
        up.namespace.push(key.namespace.clone());
        up.release.push(key.release.clone());
        up.client.push(state.winner.client.clone());
        up.product.push(state.product.map(str::to_owned));
        up.environment.push(state.environment.map(str::to_owned));
        up.status.push(state.status.as_str());
        up.trace_id.push(state.winner.trace_id);
        up.updated_at.push(state.winner.at);
        up.cycle_started_at.push(state.cycle_started_at);
        up.event_type.push(state.winner.event_type.clone());
        up.message_id.push(state.winner.message_id.clone());
    }
    sqlx::query(UPSERT)
        .bind(up.namespace)
        .bind(up.release)
        .bind(up.client)
        .bind(up.product)
        .bind(up.environment)
        .bind(up.status)
        .bind(up.trace_id)
        .bind(up.updated_at)
        .bind(up.cycle_started_at)
        .bind(up.event_type)
        .bind(up.message_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    namespace: String,
    release: String,
    action: String,
    published_on: DateTime<Utc>,
    message_id: String,
    trace_id: Uuid,
    event_type: String,
    client: String,
    product: Option<String>,
    environment: Option<String>,
}

#[derive(Default)]
struct Upsert {
    namespace: Vec<String>,
    release: Vec<String>,
    client: Vec<String>,
    product: Vec<Option<String>>,
    environment: Vec<Option<String>>,
    status: Vec<&'static str>,
    trace_id: Vec<Uuid>,
    updated_at: Vec<DateTime<Utc>>,
    cycle_started_at: Vec<Option<DateTime<Utc>>>,
    event_type: Vec<String>,
    message_id: Vec<String>,
}

const LOCK: &str = "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT \
    hashtextextended('eda-deployment/' || n || '/' || r, 0) AS k \
    FROM UNNEST($1::text[], $2::text[]) AS t(n, r) ORDER BY 1) AS keys";

/// Only the current cycle is read: events older than the stored cycle's purchase can never win
/// again, so a deployment bought and cancelled many times costs no more than a new one. The
/// lateral subquery (kept whole by `OFFSET 0`) makes the cycle start part of the index scan
/// even when the planner has no statistics yet (a new database).
const HISTORY: &str = "SELECT e.namespace, e.release, e.action, e.published_on, e.message_id, e.trace_id, \
    e.event_type, e.client, e.product, e.environment \
    FROM (SELECT DISTINCT * FROM UNNEST($1::text[], $2::text[]) AS k(namespace, release)) AS k \
    CROSS JOIN LATERAL (SELECT * FROM events e \
        WHERE e.namespace = k.namespace AND e.release = k.release AND e.release IS NOT NULL \
        AND e.published_on >= coalesce((SELECT d.cycle_started_at FROM deployments d \
            WHERE d.namespace = k.namespace AND d.release = k.release), '-infinity') \
        OFFSET 0) AS e";

const UPSERT: &str = "INSERT INTO deployments (namespace, release, client, product, environment, status, \
    trace_id, updated_at, cycle_started_at, event_type, message_id) \
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
    $7::uuid[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[]) \
    ON CONFLICT (namespace, release) DO UPDATE SET client = excluded.client, product = excluded.product, \
    environment = excluded.environment, status = excluded.status, trace_id = excluded.trace_id, \
    updated_at = excluded.updated_at, cycle_started_at = excluded.cycle_started_at, \
    event_type = excluded.event_type, message_id = excluded.message_id, written_at = now() \
    WHERE (deployments.message_id, deployments.cycle_started_at, deployments.product, deployments.environment) \
    IS DISTINCT FROM (excluded.message_id, excluded.cycle_started_at, excluded.product, excluded.environment)";
