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

/// The provisioner's `superseded` for `stale`, an order of `client`'s `product-a` that lost to
/// `newer` (DESIGN.md §8): the stale order's trace id, a message id derived from its id.
fn superseded(
    client: &str,
    second: u32,
    stale: &(Envelope, String),
    newer: &(Envelope, String),
    newer_desired: &str,
) -> (Envelope, String) {
    let (mut env, _) = at("provisioner", client, "superseded", second, stale.0.trace_id());
    let time = |e: &Envelope| eda_common::envelope::format_published_on(&e.attributes.published_on);
    let body = serde_json::json!({
        "client": client, "namespace": client, "product": "product-a", "release": "product-a",
        "order_id": stale.1, "order_time": time(&stale.0),
        "newer_order_id": newer.1, "newer_order_time": time(&newer.0), "newer_desired": newer_desired,
    });
    env.body = body.as_object().unwrap().clone();
    (env, format!("{}.superseded", stale.1))
}

/// A stored `superseded`: message id, client, namespace, release, trace id, newer desired state.
type StoredSuperseded = (String, String, Option<String>, Option<String>, uuid::Uuid, String);

/// Every column of the deployment of `namespace`, `written_at` included, as JSON text; `None`
/// without a row.
async fn deployment_row(pool: &sqlx::PgPool, namespace: &str) -> Option<String> {
    sqlx::query_scalar("SELECT row_to_json(d)::text FROM deployments d WHERE namespace = $1")
        .bind(namespace)
        .fetch_optional(pool)
        .await
        .unwrap_or_else(|e| panic!("reading the deployment of {namespace}: {e}"))
}

#[tokio::test]
async fn superseded_is_stored_but_changes_no_deployment_whether_it_arrives_first_or_last() {
    let t = TestBroker::new().await;
    let db = TestDb::create().await;
    let dbwriter = Running::start_with(&t, &db, |c| c.batch_size = 3).await;
    let pool = db.pool().await;
    let trace = uuid::Uuid::new_v4;

    // alpha: provisioned; a purchase older than the one that won was replayed, and superseded.
    let (buy_a, stale_a) = (trace(), trace());
    let alpha_buy = at("producer", "alpha", "published", 10, buy_a);
    let alpha_stale = at("producer", "alpha", "published", 5, stale_a);
    let alpha = vec![
        alpha_buy.clone(),
        at("provisioner", "alpha", "provisioning", 11, buy_a),
        at("provisioner", "alpha", "provisioned", 12, buy_a),
        alpha_stale.clone(),
    ];
    let alpha_superseded = superseded("alpha", 13, &alpha_stale, &alpha_buy, "present");
    // beta: deprovisioned; a cancellation older than the one that won, and its superseded.
    let (buy_b, cancel_b, stale_b) = (trace(), trace(), trace());
    let beta_cancel = at("producer", "beta", "cancelled", 13, cancel_b);
    let beta_stale = at("producer", "beta", "cancelled", 11, stale_b);
    let beta = vec![
        at("producer", "beta", "published", 10, buy_b),
        at("provisioner", "beta", "provisioned", 12, buy_b),
        beta_cancel.clone(),
        at("provisioner", "beta", "deprovisioned", 14, cancel_b),
        beta_stale.clone(),
    ];
    let beta_superseded = superseded("beta", 15, &beta_stale, &beta_cancel, "absent");
    // gamma: nothing but a superseded (its orders never reached this database).
    let gamma_stale = at("producer", "gamma", "published", 3, trace());
    let gamma_newer = at("producer", "gamma", "published", 4, trace());
    let gamma_superseded = superseded("gamma", 5, &gamma_stale, &gamma_newer, "present");

    // First alpha without its superseded, and beta's and gamma's superseded before anything else.
    let first = [alpha.clone(), vec![beta_superseded.clone(), gamma_superseded.clone()]].concat();
    publish_all(&t, first.clone()).await;
    dbwriter.wait_acked(first.len() as u64).await;
    let alpha_before = deployment_row(&pool, "alpha").await.expect("alpha has a deployment");
    assert_eq!(deployment_row(&pool, "beta").await, None, "a superseded alone makes no deployment");

    // Then alpha's superseded after everything, and beta's other events, shuffled, each twice.
    let second = [vec![alpha_superseded.clone()], beta.clone()].concat();
    let mut replay = [second.clone(), second.clone()].concat();
    fastrand::seed(0x5eed);
    fastrand::shuffle(&mut replay);
    publish_all(&t, replay.clone()).await;
    dbwriter.wait_acked((first.len() + replay.len()) as u64).await;

    assert_eq!(
        deployment_row(&pool, "alpha").await.as_deref(),
        Some(alpha_before.as_str()),
        "a superseded after the deployment's events does not even rewrite its row"
    );
    let rows: Vec<(String, String, uuid::Uuid, DateTime<Utc>, String)> = sqlx::query_as(
        "SELECT namespace, status, trace_id, updated_at, last_event_type FROM v_current_deployments \
         ORDER BY namespace",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let second_at = |s| Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, s).unwrap();
    let expected = vec![
        (
            "alpha".to_string(),
            "provisioned".to_string(),
            buy_a,
            second_at(12),
            "mycompany.provisioner.event.alpha.provisioned".to_string(),
        ),
        (
            "beta".into(),
            "deprovisioned".into(),
            cancel_b,
            second_at(14),
            "mycompany.provisioner.event.beta.deprovisioned".into(),
        ),
    ];
    assert_eq!(rows, expected, "gamma has no deployment, alpha and beta what their orders decided");

    // Each superseded is recorded once, as an event of its deployment, in the stale order's trace.
    assert_eq!(event_rows(&pool).await, (first.len() + second.len()) as i64);
    let stored: Vec<StoredSuperseded> = sqlx::query_as(
        "SELECT message_id, client, namespace, release, trace_id, body->>'newer_desired' FROM events \
         WHERE action = 'superseded' ORDER BY client",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let row = |(env, id): &(Envelope, String), desired: &str| {
        let client = env.event_type().client().to_owned();
        (
            id.clone(),
            client.clone(),
            Some(client),
            Some("product-a".to_string()),
            env.trace_id(),
            desired.to_owned(),
        )
    };
    assert_eq!(
        stored,
        [
            row(&alpha_superseded, "present"),
            row(&beta_superseded, "absent"),
            row(&gamma_superseded, "present")
        ]
    );
    let timeline: Vec<String> =
        sqlx::query_scalar("SELECT action FROM v_trace_timeline WHERE trace_id = $1 ORDER BY published_on")
            .bind(stale_a)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(timeline, ["published", "superseded"], "the stale order's trace shows why it did nothing");

    dbwriter.stop().await;
    pool.close().await;
    t.cleanup().await;
}
