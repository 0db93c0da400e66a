//! One bad message never fails its batch.

use eda_common::delivery::{DEAD_ERROR, DEAD_QUEUE};
use eda_tests::broker::{headers, TestBroker};
use eda_tests::db::TestDb;

use crate::helpers::*;

#[tokio::test]
async fn a_batch_with_a_malformed_and_an_unstorable_message_commits_the_others_and_dead_letters_both() {
    let t = TestBroker::new().await;
    let db = TestDb::create().await;
    // A long wait so that every message below lands in one batch.
    let dbwriter = Running::start_with(&t, &db, |c| c.batch_wait = std::time::Duration::from_secs(1)).await;
    let pool = db.pool().await;

    let mut messages = distinct_events(8);
    // Valid JSON and a valid envelope, but PostgreSQL's jsonb refuses the NUL character.
    let mut unstorable = envelope("producer", "nul", "published", "product-a");
    unstorable.body.insert("note".into(), "a\u{0}b".into());
    messages.insert(4, (unstorable, "the-unstorable-one".into()));
    t.publish_event("mycompany.x.event.y.published", b"{not json", props("the-malformed-one")).await;
    publish_all(&t, messages).await;

    let dead = t.take(&t.name("dead"), 2, WAIT).await;
    let by_id = |id: &str| {
        let d = dead.iter().find(|d| d.properties.message_id().as_ref().map(|m| m.as_str()) == Some(id));
        headers(d.unwrap_or_else(|| panic!("{id} was not dead-lettered")))
    };
    let malformed = by_id("the-malformed-one");
    assert!(malformed[DEAD_ERROR].starts_with("malformed envelope"), "{malformed:?}");
    let unstorable = by_id("the-unstorable-one");
    assert!(
        unstorable[DEAD_ERROR].contains("PostgreSQL refused the event (SQLSTATE 22P05)"),
        "{unstorable:?}"
    );
    assert_eq!(unstorable[DEAD_QUEUE], t.name("dbwriter"));

    dbwriter.wait_acked(10).await;
    assert_eq!(event_rows(&pool).await, 8, "the rest of the batch is stored");
    assert_eq!(dbwriter.counter("eda_dbwriter_rows_rejected_total"), 1);
    assert_eq!(dbwriter.readiness.check("database"), Some(true));
    assert_eq!(t.queue_len(&t.name("dbwriter")).await, 0);

    dbwriter.stop().await;
    pool.close().await;
    t.cleanup().await;
}
