//! The deployments table ends in the right state whatever order its events arrive in.

use chrono::{DateTime, TimeZone, Utc};
use eda_common::Envelope;
use eda_tests::broker::TestBroker;
use eda_tests::db::TestDb;

use crate::helpers::*;

/// An event of `client`'s `product-a` deployment at second `at` of a fixed minute.
fn at(app: &str, client: &str, action: &str, second: u32, trace_id: uuid::Uuid) -> (Envelope, String) {
    let mut env = envelope(app, client, action, "product-a");
    env.attributes.published_on = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, second).unwrap();
    env.attributes.trace_id = trace_id;
    (env, uuid::Uuid::new_v4().to_string())
}

#[tokio::test]
async fn deployment_status_replays_in_shuffled_order_end_in_the_right_state() {
    let t = TestBroker::new().await;
    let db = TestDb::create().await;
    // Small batches, so that the events of one deployment are spread over several transactions.
    let dbwriter = Running::start_with(&t, &db, |c| c.batch_size = 3).await;
    let pool = db.pool().await;

    let (buy, cancel, rebuy) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let events = vec![
        // alpha: bought and provisioned.
        at("producer", "alpha", "published", 0, buy),
        at("provisioner", "alpha", "provisioning", 1, buy),
        at("provisioner", "alpha", "provisioned", 2, buy),
        // beta: bought, provisioned, cancelled, uninstalled.
        at("producer", "beta", "published", 0, buy),
        at("provisioner", "beta", "provisioned", 2, buy),
        at("producer", "beta", "cancelled", 3, cancel),
        at("provisioner", "beta", "deprovisioned", 4, cancel),
        // gamma: the same, then bought again and being provisioned.
        at("producer", "gamma", "published", 0, buy),
        at("provisioner", "gamma", "provisioned", 2, buy),
        at("producer", "gamma", "cancelled", 3, cancel),
        at("provisioner", "gamma", "deprovisioned", 4, cancel),
        at("producer", "gamma", "published", 5, rebuy),
        at("provisioner", "gamma", "provisioning", 6, rebuy),
        // delta: provisioning failed; a mailer's failure on the same purchase changes nothing.
        at("producer", "delta", "published", 0, buy),
        at("provisioner", "delta", "provisioning", 1, buy),
        at("provisioner", "delta", "failed", 2, buy),
        at("mailer", "delta", "failed", 3, buy),
        // A Kubernetes event of gamma's new pod, tagged with the trace id by the exporter.
        at("k8s-event-exporter", "gamma", "started", 7, rebuy),
    ];
    let mut replay = events.clone();
    replay.extend(events.iter().cloned()); // every event delivered twice
    fastrand::seed(0x5eed);
    fastrand::shuffle(&mut replay);
    publish_all(&t, replay).await;
    dbwriter.wait_acked(2 * events.len() as u64).await;

    let rows: Vec<(String, String, String, uuid::Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT namespace, release, status, trace_id, updated_at FROM v_current_deployments ORDER BY namespace",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let second = |s| Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, s).unwrap();
    let expected = vec![
        ("alpha".to_string(), "product-a".to_string(), "provisioned".to_string(), buy, second(2)),
        ("beta".into(), "product-a".into(), "deprovisioned".into(), cancel, second(4)),
        ("delta".into(), "product-a".into(), "failed".into(), buy, second(2)),
        ("gamma".into(), "product-a".into(), "provisioning".into(), rebuy, second(6)),
    ];
    assert_eq!(rows, expected);
    assert_eq!(event_rows(&pool).await, events.len() as i64);

    let timeline: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, source FROM v_trace_timeline WHERE trace_id = $1 ORDER BY published_on",
    )
    .bind(rebuy)
    .fetch_all(&pool)
    .await
    .unwrap();
    let timeline: Vec<(&str, &str)> = timeline.iter().map(|(a, s)| (a.as_str(), s.as_str())).collect();
    assert_eq!(timeline, [("published", "eda"), ("provisioning", "eda"), ("started", "kubernetes")]);
    let per_action: Vec<(String, i64)> = sqlx::query_as(
        "SELECT action, sum(events)::bigint FROM v_events_per_minute GROUP BY action ORDER BY action",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let per_action: Vec<(&str, i64)> = per_action.iter().map(|(a, n)| (a.as_str(), *n)).collect();
    let expected = [
        ("cancelled", 2),
        ("deprovisioned", 2),
        ("failed", 2),
        ("provisioned", 3),
        ("provisioning", 3),
        ("published", 5),
        ("started", 1),
    ];
    assert_eq!(per_action, expected);

    dbwriter.stop().await;
    pool.close().await;
    t.cleanup().await;
}
