//! Every distinct message once, whatever the broker redelivers.

use eda_tests::broker::TestBroker;
use eda_tests::db::TestDb;

use crate::helpers::*;

/// message_id, trace_id, action, retrace_intent, published_on, publisher
type StoredSeed = (String, String, String, i32, chrono::DateTime<chrono::Utc>, Option<String>);

#[tokio::test]
async fn ten_thousand_events_with_two_thousand_redelivered_duplicates_make_exactly_ten_thousand_rows() {
    let t = TestBroker::new().await;
    // Not created: the dbwriter creates its database when it is missing.
    let db = TestDb::fresh_name();
    let dbwriter = Running::start(&t, &db).await;
    let pool = db.pool().await;

    let events = distinct_events(10_000);
    let mut messages = events.clone();
    for i in 0..2_000 {
        // The same message again, as a redelivery or a publisher's retry sends it.
        messages.push(events[i * 5].clone());
    }
    publish_all(&t, messages).await;
    dbwriter.wait_acked(12_000).await;

    assert_eq!(event_rows(&pool).await, 10_000);
    assert_eq!(dbwriter.counter("eda_dbwriter_rows_inserted_total"), 10_000);
    assert_eq!(dbwriter.counter("eda_dbwriter_duplicates_skipped_total"), 2_000);
    assert_eq!(t.queue_len(&t.name("dead")).await, 0, "nothing was dead-lettered");
    let deployments: i64 = sqlx::query_scalar("SELECT count(*) FROM deployments WHERE status = 'published'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(deployments, 10_000, "each purchase is a deployment");
    let stored: serde_json::Value = sqlx::query_scalar("SELECT body FROM events WHERE message_id = $1")
        .bind(&events[7].1)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, events[7].0.to_value(), "the body column holds the whole envelope");

    dbwriter.stop().await;
    pool.close().await;
    t.cleanup().await;
}

#[tokio::test]
async fn a_foreign_message_without_message_id_published_twice_is_one_row_keyed_by_its_sha256() {
    let t = TestBroker::new().await;
    let db = TestDb::create().await;
    let dbwriter = Running::start(&t, &db).await;
    let pool = db.pool().await;

    // The seed's format, as a shell publisher of the original system sends it: no message_id,
    // no content type, the legacy published_on.
    let seed = br#"{"client":"cliente02","namespace":"cliente02","environment":"development","archtype":"saas","hardware":"dedicated","product":"product-a","MessageAttributes":{"event_type":{"Type":"String","Value":"mycompany.producer.event.cliente02.published"},"published_on":"2023.01.2.23.02.642883101","trace_id":"9a2ae9de-3f82-4f55-966b-47df50ff51ff","retrace_intent":"0"},"Metadata":{"host":"hostname","origing":"Cloud","publisher":"producer"}}"#;
    let key = "mycompany.producer.event.cliente02.published";
    t.publish_event(key, seed, Default::default()).await;
    t.publish_event(key, seed, Default::default()).await;
    dbwriter.wait_acked(2).await;

    let rows: Vec<StoredSeed> = sqlx::query_as(
        "SELECT message_id, trace_id::text, action, retrace_intent, published_on, publisher FROM events",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (message_id, trace_id, action, retrace_intent, published_on, publisher) = &rows[0];
    assert_eq!(message_id, &eda_common::envelope::message_id_for_body(seed));
    assert_eq!(trace_id, "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
    assert_eq!(action, "published");
    assert_eq!(*retrace_intent, 0);
    assert_eq!(published_on.to_rfc3339(), "2023-01-02T23:02:00.642883+00:00");
    assert_eq!(publisher.as_deref(), Some("producer"));
    assert_eq!(dbwriter.counter("eda_dbwriter_duplicates_skipped_total"), 1);

    dbwriter.stop().await;
    pool.close().await;
    t.cleanup().await;
}
