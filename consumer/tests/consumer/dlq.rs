//! `consumer dlq list` / `replay`: a round trip through the parking lot, dry runs change nothing.

use consumer::config::{ListArgs, ReplayArgs};
use consumer::dlq::{list, replay};
use eda_common::delivery::{DEAD_ERROR, DEAD_FAILED_AT, DEAD_QUEUE};
use eda_common::publisher::{envelope_properties, long, with_header};
use eda_common::topology::Topology;
use eda_tests::broker::{headers, json};
use uuid::Uuid;

use crate::helpers::*;

/// Parks `envelope` in `<prefix>.dead` as the runtime would after `retrace_intent` retries.
async fn park(h: &Harness, client: &str, trace_id: Uuid, failed_in: &str, reason: &str) {
    let mut env = order(client);
    env.attributes.trace_id = trace_id;
    env.attributes.retrace_intent = 2;
    let mut props = envelope_properties(&env, &Uuid::new_v4().to_string(), "test");
    props = with_header(props, DEAD_QUEUE, long(failed_in));
    props = with_header(props, DEAD_ERROR, long(reason));
    props = with_header(props, DEAD_FAILED_AT, long("2026-11-23T15:00:00.000Z"));
    h.t.publish("", &h.t.name("dead"), &env.to_json(), props).await;
}

#[tokio::test]
async fn dlq_list_and_replay_round_trip_and_a_dry_run_changes_nothing() {
    let mut h = Harness::new(2).await;
    let rt = h.runtime("dlq").await;
    Topology::new(&h.t.prefix, h.args.queue_type).declare_shared(h.t.channel()).await.unwrap();
    // The queue the messages failed in: a plain queue nothing routes to.
    let failed_in = h.t.tap("svc", "nothing.bound.event.here.ever").await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    park(&h, "c1", a, &failed_in, "gave up after 2 retries: database busy").await;
    park(&h, "c2", b, &failed_in, "webhook answered 422").await;
    park(&h, "c3", a, &failed_in, "gave up after 2 retries: database busy").await;
    let dead = h.t.name("dead");

    let all = list(&rt, &ListArgs::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1].trace_id, Some(b));
    assert_eq!(all[1].queue.as_deref(), Some(failed_in.as_str()));
    assert_eq!(all[1].reason.as_deref(), Some("webhook answered 422"));
    assert_eq!(all[1].event_type.as_deref(), Some("mycompany.producer.event.c2.published"));
    assert_eq!(all[1].failed_at.as_deref(), Some("2026-11-23T15:00:00.000Z"));
    assert_eq!(h.t.queue_len(&dead).await, 3, "listing removes nothing");
    let only_a = list(&rt, &ListArgs { trace_id: Some(a), ..Default::default() }).await.unwrap();
    assert_eq!(only_a.len(), 2);
    assert_eq!(list(&rt, &ListArgs { limit: Some(1), ..Default::default() }).await.unwrap().len(), 1);

    let mut out = Vec::new();
    let dry = ReplayArgs { trace_id: Some(b), all: false, dry_run: true };
    let report = replay(&rt, &dry, &mut out).await.unwrap();
    assert_eq!((report.matched, report.replayed), (1, 0));
    assert!(String::from_utf8(out).unwrap().contains("would replay"));
    assert_eq!(h.t.queue_len(&dead).await, 3, "a dry run removes nothing");
    assert_eq!(h.t.queue_len(&failed_in).await, 0, "a dry run publishes nothing");

    let mut out = Vec::new();
    let report =
        replay(&rt, &ReplayArgs { trace_id: Some(b), ..Default::default() }, &mut out).await.unwrap();
    assert_eq!((report.matched, report.replayed), (1, 1));
    assert_eq!(h.t.queue_len(&dead).await, 2, "only trace b left dead");
    let back = h.t.take(&failed_in, 1, WAIT).await;
    let back_headers = headers(&back[0]);
    assert_eq!(back_headers["trace_id"], b.to_string());
    assert_eq!(back_headers["retrace_intent"], "0");
    assert!(back_headers.keys().all(|k| !k.starts_with("x-eda-")), "{back_headers:?}");
    assert_eq!(json(&back[0])["MessageAttributes"]["retrace_intent"], "0");
    assert_eq!(json(&back[0])["client"], "c2");

    let mut out = Vec::new();
    let report = replay(&rt, &ReplayArgs { all: true, ..Default::default() }, &mut out).await.unwrap();
    assert_eq!((report.matched, report.replayed), (2, 2));
    assert_eq!(h.t.queue_len(&dead).await, 0);
    let back = h.t.take(&failed_in, 2, WAIT).await;
    assert!(back.iter().all(|d| headers(d)["trace_id"] == a.to_string()));
    h.finish().await;
}

#[tokio::test]
async fn dlq_replay_refuses_to_run_without_a_selection() {
    let mut h = Harness::new(2).await;
    let rt = h.runtime("dlq").await;
    let error = replay(&rt, &ReplayArgs::default(), &mut Vec::new()).await.unwrap_err();
    assert!(error.to_string().contains("--trace-id ID or --all"), "{error}");
    h.finish().await;
}

#[tokio::test]
async fn dead_letters_of_the_engine_replay_back_into_its_queue() {
    // End to end: a handler fails permanently, the fix is "deployed", the replay succeeds.
    let mut h = Harness::new(2).await;
    let dir = tempfile::tempdir().unwrap();
    let fixed = dir.path().join("fixed");
    let cmd = script(
        &dir,
        "h.sh",
        &format!(
            "cat >/dev/null\n[ -e {} ] || {{ echo 'not yet' >&2; exit 1; }}\necho '{{\"done\":true}}'",
            fixed.display()
        ),
    );
    let run = h.engine(run_args("fixme", "*.*.event.*.published", Some(&cmd), None)).await;
    let out = h.t.tap("out", "*.fixme.event.*.processed").await;
    let failed = h.t.tap("failed", "*.fixme.event.*.failed").await;
    let order = h.publish_order("c9").await;
    let rt = h.runtime("dlq").await;
    h.t.take(&failed, 1, WAIT).await;
    // Stopping waits for the in-flight message: its dead letter is confirmed once this returns.
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    let letters = list(&rt, &ListArgs::default()).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].trace_id, Some(order.trace_id()));
    assert_eq!(letters[0].queue.as_deref(), Some(h.t.name("fixme").as_str()));
    std::fs::write(&fixed, "").unwrap();
    h.shutdown = tokio_util::sync::CancellationToken::new();
    let run = h.engine(run_args("fixme", "*.*.event.*.published", Some(&cmd), None)).await;
    let args = ReplayArgs { trace_id: Some(order.trace_id()), ..Default::default() };
    assert_eq!(replay(&rt, &args, &mut Vec::new()).await.unwrap().replayed, 1);
    let got = h.t.take(&out, 1, WAIT).await;
    assert_eq!(json(&got[0])["MessageAttributes"]["trace_id"], order.trace_id().to_string());
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}
