//! A database the first release migrated upgrades in place: its rows and views are kept, its
//! identifier columns compare as bytes, and the dbwriter goes on writing to it.

use std::path::Path;

use chrono::Utc;
use dbwriter::{deployments, row, EventRow};
use eda_common::delivery::Message;
use eda_tests::db::TestDb;
use sqlx::migrate::Migrator;
use sqlx::{Connection, PgPool};

use crate::helpers::envelope;

const FIRST: &str = "20261123000001_events_and_deployments.sql";

/// The identifier columns the second migration moves to `COLLATE "C"`.
const IDENTIFIERS: [(&str, &str); 7] = [
    ("events", "message_id"),
    ("events", "event_type"),
    ("events", "client"),
    ("events", "namespace"),
    ("events", "release"),
    ("deployments", "namespace"),
    ("deployments", "release"),
];

#[tokio::test]
async fn a_database_of_the_first_release_upgrades_with_its_rows_and_views() {
    let db = TestDb::create().await;
    let first_release = db.pool().await;
    migrate_with_the_first_release_only(&first_release).await;
    for (table, column) in IDENTIFIERS {
        let before = collation(&first_release, table, column).await;
        assert_eq!(before, None, "{table}.{column} before the upgrade");
    }
    let purchase = message("published");
    write(&first_release, &purchase).await;
    // A dashboard reader, as an operator would grant it; roles belong to the whole server.
    let reader = format!("eda_reader_{}", uuid::Uuid::new_v4().simple());
    execute(&first_release, &format!("CREATE ROLE {reader}")).await;
    execute(&first_release, &format!("GRANT SELECT ON v_trace_timeline TO {reader}")).await;
    // The old release stops; the new one connects afresh and migrates at its start. (A session
    // kept across the upgrade gets "cached plan must not change result type" for its prepared
    // statements once; the dbwriter treats that as an outage and retries on a new connection.)
    first_release.close().await;
    let pool = db.pool().await;

    dbwriter::db::MIGRATOR.run(&pool).await.expect("the upgrade applies");

    for (table, column) in IDENTIFIERS {
        assert_eq!(collation(&pool, table, column).await.as_deref(), Some("C"), "{table}.{column}");
    }
    let timeline: Vec<String> =
        sqlx::query_scalar("SELECT message_id FROM v_trace_timeline WHERE trace_id = $1")
            .bind(purchase.envelope.trace_id())
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        timeline.as_slice(),
        std::slice::from_ref(&purchase.message_id),
        "the stored event, through the recreated view"
    );
    assert_eq!(status(&pool).await, "published");
    assert!(may_read(&pool, &reader, "v_trace_timeline").await, "the grant on the recreated view is kept");
    assert!(!may_read(&pool, &reader, "v_current_deployments").await, "and no grant is invented");
    execute(&pool, &format!("DROP OWNED BY {reader}")).await;
    execute(&pool, &format!("DROP ROLE {reader}")).await;

    // The next event of the same deployment reads the history written before the upgrade.
    let mut provisioned = message("provisioned");
    provisioned.envelope.attributes.trace_id = purchase.envelope.trace_id();
    write(&pool, &provisioned).await;
    assert_eq!(status(&pool).await, "provisioned");
}

/// Applies the first migration alone, recorded the way sqlx records it, as the first release did.
async fn migrate_with_the_first_release_only(pool: &PgPool) {
    let dir = std::env::temp_dir().join(format!("eda-first-release-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    std::fs::copy(migrations.join(FIRST), dir.join(FIRST)).unwrap();
    let first = Migrator::new(dir.as_path()).await.expect("the first migration loads");
    let applied = first.run(pool).await;
    std::fs::remove_dir_all(&dir).unwrap();
    applied.expect("the first migration applies");
}

/// An event of client `upgrade`'s `product-a` deployment, as the consumer hands it over.
fn message(action: &str) -> Message {
    let app = if action == "published" { "producer" } else { "provisioner" };
    Message {
        envelope: envelope(app, "upgrade", action, "product-a"),
        message_id: uuid::Uuid::new_v4().to_string(),
        routing_key: String::new(),
        redelivered: false,
        received_at: Utc::now(),
        sent_at: None,
        delivery_tag: 0,
        traceparent: None,
    }
}

/// Writes one message as a batch transaction does: the row, then its deployment.
async fn write(pool: &PgPool, message: &Message) {
    let row = EventRow::from_message(message);
    let mut conn = pool.acquire().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    assert_eq!(row::insert(&mut tx, &[&row]).await.unwrap(), 1);
    let key = deployments::key_of(&message.envelope).expect("a deployment event");
    deployments::apply(&mut tx, &[key]).await.unwrap();
    tx.commit().await.unwrap();
}

async fn status(pool: &PgPool) -> String {
    sqlx::query_scalar("SELECT status FROM v_current_deployments WHERE namespace = 'upgrade'")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn execute(pool: &PgPool, statement: &str) {
    sqlx::raw_sql(statement).execute(pool).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
}

async fn may_read(pool: &PgPool, role: &str, view: &str) -> bool {
    sqlx::query_scalar("SELECT has_table_privilege($1, $2, 'SELECT')")
        .bind(role)
        .bind(view)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The column's collation; `None` is the database default.
async fn collation(pool: &PgPool, table: &str, column: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT collation_name::text FROM information_schema.columns \
         WHERE table_name = $1 AND column_name = $2",
    )
    .bind(table)
    .bind(column)
    .fetch_one(pool)
    .await
    .unwrap()
}
