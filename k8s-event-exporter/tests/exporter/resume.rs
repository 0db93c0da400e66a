//! Watch expiry (410) and restarts: each (event, count) is published exactly once, no gaps.
//! Both on the real control plane.
//!
//! The 410 is the real API server's, after a real etcd compaction. kube-apiserver 1.20 serves
//! watches on events straight from etcd (the watch cache is off for events by default), so
//! a watch resumed from a resourceVersion that etcd compacted away is answered at once with
//! an ERROR event, 410 Expired. What makes the exporter resume its watch from an old
//! resourceVersion at a moment the test chooses is a network cut: its connections to the API
//! server go through a proxy (`proxy.rs`) that the test cuts while it writes events and
//! compacts etcd, then restores. The test asserts the 410 by the exporter's
//! `eda_k8s_event_watch_expired_total`, and the relist by `eda_k8s_event_watch_restarts_total`.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::helpers::{metric, uids_and_counts, World, STATE_CONFIGMAP};
use crate::proxy::ApiProxy;

/// Runs alone: `.config/nextest.toml` puts it in the test group `etcd-compaction` and gives it
/// every test thread, because compacting etcd's history touches every client of the shared
/// control plane (a watch of another test resumed from before the compaction would get a 410
/// too). The `etcd_compaction` in its name is what the filter there matches.
#[tokio::test]
async fn etcd_compaction_under_a_watch_gets_410_and_the_relist_publishes_the_gap_without_duplicates() {
    let w = World::new().await;
    let proxy = ApiProxy::start(w.api_server()).await;
    let exporter = w.start_via(&proxy, w.config()).await;
    let ns = w.namespace("c1", Some(Uuid::new_v4())).await;
    w.event(&ns, "before", "Scheduled", 1).await;
    w.event(&ns, "counted", "BackOff", 1).await;
    // Created after the exporter's list: they come on its watch, in order.
    assert_eq!(uids_and_counts(&w.take(2).await), [("before".into(), 1), ("counted".into(), 1)]);
    assert_eq!(metric(&exporter.metrics(), "eda_k8s_event_watch_expired_total", ""), 0.0);

    // The exporter loses the API server. Meanwhile events happen, and etcd compacts its
    // history past everything the exporter's watch saw.
    proxy.cut();
    w.event(&ns, "during-1", "Pulled", 1).await;
    w.event(&ns, "counted", "BackOff", 2).await;
    w.event(&ns, "during-2", "Started", 1).await;
    w.cluster().compact_etcd();
    proxy.restore();

    // Its watch resumes from its last resourceVersion, gets 410, relists: the gap comes, once.
    let got: BTreeSet<_> = uids_and_counts(&w.take(3).await).into_iter().collect();
    let expected: BTreeSet<_> =
        [("during-1".into(), 1), ("counted".into(), 2), ("during-2".into(), 1)].into_iter().collect();
    assert_eq!(got, expected);
    w.assert_nothing_more(&ns).await;
    let health = exporter.health.clone();
    exporter.stop().await;
    let metrics = health.metrics.encode();
    assert!(
        metric(&metrics, "eda_k8s_event_watch_expired_total", "") >= 1.0,
        "the API server answered 410: {metrics}"
    );
    assert!(
        metric(&metrics, "eda_k8s_event_watch_restarts_total", "") >= 1.0,
        "the watch relisted: {metrics}"
    );
    w.cleanup().await;
}

#[tokio::test]
async fn a_restarted_exporter_publishes_nothing_twice_and_catches_up_on_what_it_missed() {
    let w = World::new().await;
    let first = w.start(w.config()).await;
    let ns = w.namespace("c2", Some(Uuid::new_v4())).await;
    w.event(&ns, "one", "Scheduled", 1).await;
    w.event(&ns, "two", "Pulled", 1).await;
    assert_eq!(w.take(2).await.len(), 2);
    first.stop().await;
    let state = w.cluster().get("configmaps", Some(&w.state_namespace()), STATE_CONFIGMAP).await;
    assert!(
        state.is_some_and(|cm| cm["data"]["resourceVersion"].as_str().is_some()),
        "watermark written on stop"
    );

    // While no exporter runs: one event counts up, one is new.
    w.event(&ns, "two", "Pulled", 2).await;
    w.event(&ns, "three", "Started", 1).await;
    let second = w.start(w.config()).await;
    let got: BTreeSet<_> = uids_and_counts(&w.take(2).await).into_iter().collect();
    assert_eq!(got, [("three".into(), 1), ("two".into(), 2)].into_iter().collect());
    w.assert_nothing_more(&ns).await;
    second.stop().await;
    w.cleanup().await;
}
