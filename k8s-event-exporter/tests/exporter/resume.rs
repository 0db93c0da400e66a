//! Watch expiry (410) and restarts: each (event, count) is published exactly once, no gaps.

use std::collections::BTreeSet;

use eda_tests::kube_api::KubeApiTestServer;
use uuid::Uuid;

use crate::helpers::{uids_and_counts, World, STATE_NAMESPACE, WITHIN};

fn event_lists(kube: &KubeApiTestServer) -> usize {
    kube.requests().iter().filter(|r| r.path == "/apis/events.k8s.io/v1/events" && !r.is_watch()).count()
}

#[tokio::test]
async fn a_watch_that_expires_with_410_resumes_without_duplicates_or_gaps() {
    let w = World::new().await;
    let exporter = w.start(w.config()).await;
    w.namespace("c1", Some(Uuid::new_v4()));
    w.event("c1", "before", "Scheduled", 1);
    w.event("c1", "counted", "BackOff", 1);
    assert_eq!(uids_and_counts(&w.take(2).await), [("before".into(), 1), ("counted".into(), 1)]);
    // Both watches (namespaces and events) are open: the expiry hits a live watch.
    w.kube.wait_for(WITHIN, |k| (k.open_watches() >= 2).then_some(())).await;

    w.kube.expire_watch_history();
    w.kube.end_watches();
    w.event("c1", "during-1", "Pulled", 1);
    w.event("c1", "counted", "BackOff", 2);
    w.event("c1", "during-2", "Started", 1);

    let got: BTreeSet<_> = uids_and_counts(&w.take(3).await).into_iter().collect();
    let expected: BTreeSet<_> =
        [("during-1".into(), 1), ("counted".into(), 2), ("during-2".into(), 1)].into_iter().collect();
    assert_eq!(got, expected);
    w.kube.wait_for(WITHIN, |k| (event_lists(k) >= 2).then_some(())).await;
    w.assert_nothing_more("c1").await;
    let health = exporter.health.clone();
    exporter.stop().await;
    assert!(health
        .metrics
        .encode()
        .contains("eda_k8s_event_watch_restarts_total{service=\"k8s-event-exporter\"} 1"));
    w.cleanup().await;
}

#[tokio::test]
async fn a_restarted_exporter_publishes_nothing_twice_and_catches_up_on_what_it_missed() {
    let w = World::new().await;
    let first = w.start(w.config()).await;
    w.namespace("c2", Some(Uuid::new_v4()));
    w.event("c2", "one", "Scheduled", 1);
    w.event("c2", "two", "Pulled", 1);
    assert_eq!(w.take(2).await.len(), 2);
    first.stop().await;
    let state = w.kube.get("configmaps", Some(STATE_NAMESPACE), "k8s-event-exporter-state");
    assert!(
        state.is_some_and(|cm| cm["data"]["resourceVersion"].as_str().is_some()),
        "watermark written on stop"
    );

    // While no exporter runs: one event counts up, one is new.
    w.event("c2", "two", "Pulled", 2);
    w.event("c2", "three", "Started", 1);
    let second = w.start(w.config()).await;
    let got: BTreeSet<_> = uids_and_counts(&w.take(2).await).into_iter().collect();
    assert_eq!(got, [("three".into(), 1), ("two".into(), 2)].into_iter().collect());
    w.assert_nothing_more("c2").await;
    second.stop().await;
    w.cleanup().await;
}
