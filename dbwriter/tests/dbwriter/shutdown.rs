//! SIGTERM while batches are being written: a new instance finds nothing lost, nothing doubled.

use eda_tests::broker::TestBroker;
use eda_tests::db::TestDb;

use crate::helpers::*;

#[tokio::test]
async fn sigterm_mid_stream_then_a_restart_stores_every_event_exactly_once() {
    let t = TestBroker::new().await;
    let db = TestDb::create().await;
    let total = 6_000;
    // The first start declares the queue, so the events wait in it.
    Running::start(&t, &db).await.stop().await;
    publish_all(&t, distinct_events(total)).await;
    let pool = db.pool().await;

    let first = Running::start_with(&t, &db, |c| c.batch_size = 200).await;
    wait_until("the first rows", || async { event_rows(&pool).await > 0 }).await;
    let first_metrics = first.metrics.clone();
    first.stop().await; // SIGTERM while batches are flowing
    let inserted_first = counter(&first_metrics, "eda_dbwriter_rows_inserted_total");
    let acked_first = first_metrics.acked.get();
    let stored_first = event_rows(&pool).await as u64;
    assert_eq!(stored_first, inserted_first);
    assert!(stored_first >= acked_first, "nothing was acked that is not stored");
    assert!(stored_first < total as u64, "the signal came mid-stream");

    let second = Running::start_with(&t, &db, |c| c.batch_size = 200).await;
    wait_until("every event", || async { event_rows(&pool).await == total as i64 }).await;
    second.wait_acked(total as u64 - acked_first).await;
    let inserted_second = second.counter("eda_dbwriter_rows_inserted_total");
    assert_eq!(inserted_first + inserted_second, total as u64, "each event inserted by exactly one instance");
    assert_eq!(t.queue_len(&t.name("dbwriter")).await, 0);
    assert_eq!(t.queue_len(&t.name("dead")).await, 0);

    second.stop().await;
    pool.close().await;
    t.cleanup().await;
}
