//! PostgreSQL going away or read-only mid-stream: nothing acked that is not stored, nothing
//! dead-lettered because of it, every event stored once when it returns.

use eda_tests::broker::TestBroker;
use eda_tests::db::TestDb;
use sqlx::PgPool;

use crate::helpers::*;

/// Ends every session of this test's dbwriter; returns how many there were.
async fn terminate_dbwriter_sessions(admin: &PgPool, prefix: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1) AS killed",
    )
    .bind(dbwriter::db::application_name(prefix))
    .fetch_one(admin)
    .await
    .expect("terminate dbwriter sessions")
}

async fn set_read_only(admin: &PgPool, db: &TestDb, on: bool) {
    let value = if on { "on" } else { "off" };
    sqlx::query(&format!("ALTER DATABASE \"{}\" SET default_transaction_read_only = {value}", db.name))
        .execute(admin)
        .await
        .expect("alter database");
}

#[tokio::test]
async fn killed_connections_and_a_read_only_phase_mid_stream_lose_and_dead_letter_nothing() {
    let t = TestBroker::new().await;
    let db = TestDb::create().await;
    let dbwriter = Running::start_with(&t, &db, |c| c.batch_size = 100).await;
    let pool = db.pool().await;
    let admin = sqlx::PgPool::connect(&format!("{}/postgres", eda_tests::db::server_url())).await.unwrap();

    // Connections killed again and again while events stream in.
    let (mut published, mut terminated) = (0, 0);
    for _ in 0..10 {
        publish_all(&t, distinct_events(300)).await;
        published += 300;
        terminated += terminate_dbwriter_sessions(&admin, &t.prefix).await;
    }
    assert!(terminated > 0, "the dbwriter's sessions were killed");

    // Read-only: new sessions cannot write, so the dbwriter must hold everything in the broker.
    dbwriter.wait_acked(published).await;
    set_read_only(&admin, &db, true).await;
    terminate_dbwriter_sessions(&admin, &t.prefix).await;
    publish_all(&t, distinct_events(500)).await;
    published += 500;
    within("readiness to report the database", dbwriter.readiness.wait_for("database", false)).await;
    assert_eq!(dbwriter.readyz().await, 503);
    let acked_while_read_only = dbwriter.acked();
    assert!(acked_while_read_only < published, "nothing is acked while nothing can be stored");

    // Writable again, without touching the dbwriter's sessions: it must open fresh ones itself.
    set_read_only(&admin, &db, false).await;
    within("the database to be ready again", dbwriter.readiness.wait_for("database", true)).await;
    dbwriter.wait_acked(published).await;
    assert_eq!(dbwriter.readyz().await, 200);

    assert_eq!(event_rows(&pool).await, published as i64, "every event stored once");
    assert_eq!(t.queue_len(&t.name("dead")).await, 0, "nothing dead-lettered because of the outage");
    assert_eq!(t.queue_len(&t.name("retry.dbwriter.1")).await, 0, "an outage is not a message's failure");
    assert!(dbwriter.counter("eda_dbwriter_database_errors_total") > 0, "the outage was noticed");

    dbwriter.stop().await;
    pool.close().await;
    admin.close().await;
    t.cleanup().await;
}

#[tokio::test]
async fn a_column_type_changed_under_a_running_dbwriter_costs_a_retry_not_a_message() {
    let t = TestBroker::new().await;
    let db = TestDb::create().await;
    let dbwriter = Running::start_with(&t, &db, |c| c.batches_in_flight = 1).await;
    let pool = db.pool().await;
    // One purchase at a time, each a batch of its own, so that the sessions the pool hands out
    // next have all prepared the deployments' history read.
    let purchase =
        |i: usize| (envelope("producer", &format!("s{i}"), "published", "product-a"), format!("m{i}"));
    for i in 0..4 {
        publish_all(&t, vec![purchase(i)]).await;
        dbwriter.wait_acked(i as u64 + 1).await;
    }

    // What a newer release's migration can do while an older replica runs: a column the history
    // read returns changes type, and a session's prepared statement fails with SQLSTATE 0A000
    // ("cached plan must not change result type").
    sqlx::query("ALTER TABLE events ALTER COLUMN environment TYPE varchar(64)").execute(&pool).await.unwrap();
    publish_all(&t, (4..8).map(purchase).collect()).await;
    dbwriter.wait_acked(8).await;

    assert!(dbwriter.counter("eda_dbwriter_database_errors_total") > 0, "the stale statement failed");
    assert_eq!(event_rows(&pool).await, 8, "the batch was written again on a fresh session");
    assert_eq!(t.queue_len(&t.name("dead")).await, 0, "a stale statement is not the message's fault");
    let deployments: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deployments").fetch_one(&pool).await.unwrap();
    assert_eq!(deployments, 8, "and the deployments with it");

    dbwriter.stop().await;
    pool.close().await;
    t.cleanup().await;
}
