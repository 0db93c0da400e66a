//! What gets published, under which event type, with which trace id — and what does not.
//!
//! On the real control plane, except `core_v1_events_are_exported_when_the_api_lacks_events_k8s_io`:
//! a real API server always serves events.k8s.io, so the core/v1 fallback runs on the fixture.

use std::collections::BTreeSet;

use eda_tests::broker::headers;
use eda_tests::kube_api::KubeApiTestServer;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use kube::api::{Api, PostParams};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{event_body, metric, World, STATE_CONFIGMAP, WITHIN};

#[tokio::test]
async fn an_event_in_a_traced_namespace_is_published_once_with_its_trace_id_and_again_when_its_count_rises() {
    let w = World::new().await;
    let exporter = w.start(w.config()).await;
    let trace_id = Uuid::new_v4();
    let ns = w.namespace("cliente02", Some(trace_id)).await;
    w.event(&ns, "web.1", "BackOff", 1).await;

    let first = w.take_deliveries(1).await;
    let body = eda_tests::broker::json(&first[0]);
    assert_eq!(first[0].routing_key.as_str(), "mycompany.k8s-event-exporter.event.cliente02-client.backoff");
    assert_eq!(body["MessageAttributes"]["trace_id"], trace_id.to_string());
    assert_eq!(headers(&first[0])["trace_id"], trace_id.to_string());
    assert_eq!(body["client"], "cliente02-client");
    assert_eq!(body["namespace"], ns);
    assert_eq!(body["involved_object"], json!({"kind": "Pod", "name": "web.1-pod", "uid": "web.1-pod-uid"}));
    assert_eq!(
        (body["reason"].as_str(), body["type"].as_str(), body["count"].as_i64()),
        (Some("BackOff"), Some("Normal"), Some(1))
    );
    assert_eq!(body["message"], "BackOff happened");
    assert_eq!(body["reporting_controller"], "kubelet");
    assert!(body["first_time"].is_string() && body["last_time"].is_string());
    assert!(body["event_uid"].as_str().is_some_and(|u| !u.is_empty()));

    w.event(&ns, "web.1", "BackOff", 2).await;
    let second = w.take(1).await;
    assert_eq!(second[0]["count"], 2);
    assert_eq!(second[0]["event_uid"], body["event_uid"], "the same event, counted again");
    w.assert_nothing_more(&ns).await;
    let health = exporter.health.clone();
    exporter.stop().await;
    // The start sentinel, the event twice, the closing sentinel.
    let metrics = health.metrics.encode();
    assert_eq!(metric(&metrics, "eda_k8s_events_published_total", ""), 4.0, "{metrics}");
    w.cleanup().await;
}

#[tokio::test]
async fn the_pods_own_trace_id_wins_over_the_namespaces() {
    let w = World::new().await;
    let exporter = w.start(w.config()).await;
    let (namespace_trace, pod_trace) = (Uuid::new_v4(), Uuid::new_v4());
    let ns = w.namespace("c3", Some(namespace_trace)).await;
    // The real scheduler binds the Pod to the fake kubelet's node and reports it: `Scheduled`.
    let pod = w.pod(&ns, "web-2", json!({"trace_id": pod_trace.to_string()})).await;
    let got = w.take(1).await;
    assert_eq!(
        (got[0]["reason"].as_str(), got[0]["reporting_controller"].as_str()),
        (Some("Scheduled"), Some("default-scheduler"))
    );
    assert_eq!(got[0]["involved_object"]["uid"], pod["metadata"]["uid"]);
    assert_eq!(got[0]["MessageAttributes"]["trace_id"], pod_trace.to_string());
    exporter.stop().await;
    w.cleanup().await;
}

#[tokio::test]
async fn events_of_untraced_and_unselected_namespaces_are_ignored_by_default() {
    let w = World::new().await;
    let exporter = w.start(w.config()).await;
    let untraced = w.namespace("untraced", None).await;
    // Another tenant of the provisioner, not this exporter's (the selector leaves it out).
    let other = w.unselected_namespace("other", Uuid::new_v4()).await;
    let traced = w.namespace("traced", Some(Uuid::new_v4())).await;
    w.event(&untraced, "a", "Scheduled", 1).await;
    w.event(&other, "b", "Scheduled", 1).await;
    w.assert_nothing_more(&traced).await;
    let metrics = exporter.metrics();
    assert_eq!(metric(&metrics, "eda_k8s_events_skipped_total", "reason=\"untraced\""), 1.0, "{metrics}");
    // Every namespace of the shared cluster that this test's exporter does not select counts
    // here, those of parallel tests too: at least ours.
    assert!(metric(&metrics, "eda_k8s_events_skipped_total", "reason=\"unselected\"") >= 1.0, "{metrics}");
    exporter.stop().await;
    w.cleanup().await;
}

#[tokio::test]
async fn include_untraced_publishes_them_with_a_fresh_trace_id_marked_untraced() {
    let w = World::new().await;
    let mut config = w.config();
    config.include_untraced = true;
    let exporter = w.start(config).await;
    let ns = w.namespace("untraced", None).await;
    w.event(&ns, "a", "Scheduled", 1).await;
    let got = w.take(1).await;
    assert_eq!(got[0]["untraced"], true);
    let trace_id = got[0]["MessageAttributes"]["trace_id"].as_str().unwrap();
    assert!(Uuid::parse_str(trace_id).is_ok_and(|id| !id.is_nil()));
    exporter.stop().await;
    w.cleanup().await;
}

#[tokio::test]
async fn type_and_reason_filters_leave_out_what_they_exclude() {
    let w = World::new().await;
    let mut config = w.config();
    config.types = vec!["warning".into()];
    config.exclude_reasons = vec!["FailedMount".into()];
    let exporter = w.start(config).await;
    let ns = w.namespace("c4", Some(Uuid::new_v4())).await;
    w.event(&ns, "normal", "Pulled", 1).await;
    let mut warning = event_body(&ns, "mount", "FailedMount", 1, chrono::Utc::now());
    warning["type"] = json!("Warning");
    w.put_event(warning).await;
    let mut kept = event_body(&ns, "backoff", "BackOff", 1, chrono::Utc::now());
    kept["type"] = json!("Warning");
    w.put_event(kept).await;
    let got = w.take(1).await;
    assert_eq!(got[0]["event_name"], "backoff");
    // A Warning sentinel: it passes the filters.
    w.assert_nothing_more(&ns).await;
    // Filters are decided before the namespace, so the shared cluster's Normal events of
    // other tests count here too: at least our two.
    assert!(metric(&exporter.metrics(), "eda_k8s_events_skipped_total", "reason=\"filtered\"") >= 2.0);
    exporter.stop().await;
    w.cleanup().await;
}

#[tokio::test]
async fn events_older_than_the_start_are_skipped_unless_replay_is_set() {
    let w = World::new().await;
    let ns = w.namespace("c5", Some(Uuid::new_v4())).await;
    let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    w.put_event(event_body(&ns, "old", "Pulled", 1, an_hour_ago)).await;

    let exporter = w.start(w.config()).await;
    w.assert_nothing_more(&ns).await;
    exporter.stop().await;

    // Without a watermark, a replaying exporter publishes every event of its namespaces:
    // the old one and the sentinels of the first run.
    w.cluster().delete("configmaps", Some(&w.state_namespace()), STATE_CONFIGMAP).await;
    let mut existing = BTreeSet::new();
    for namespace in [ns.clone(), w.name("probe")] {
        for event in w.cluster().list("events", Some(&namespace), None).await {
            existing.insert(event["metadata"]["name"].as_str().unwrap().to_owned());
        }
    }
    assert!(existing.contains("old") && existing.len() == 3, "{existing:?}");
    let mut config = w.config();
    config.replay = true;
    // Its own start sentinel is taken by `start`.
    let replaying = w.start(config).await;
    let got = w.take(existing.len()).await;
    let names: BTreeSet<_> = got.iter().map(|m| m["event_name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, existing);
    w.assert_nothing_more(&ns).await;
    replaying.stop().await;
    w.cleanup().await;
}

/// Stays on the fixture: a real API server always serves events.k8s.io, so only the
/// fixture can leave it out of discovery.
#[tokio::test]
async fn core_v1_events_are_exported_when_the_api_lacks_events_k8s_io() {
    let kube = KubeApiTestServer::builder().without_group("events.k8s.io").start().await;
    let w = World::on_fixture(kube).await;
    let exporter = w.start(w.config()).await;
    let trace_id = Uuid::new_v4();
    let ns = w.namespace("legacy", Some(trace_id)).await;
    let now = chrono::Utc::now().to_rfc3339();
    w.fixture().put_object(json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "old-api", "namespace": ns},
        "involvedObject": {"kind": "Pod", "name": "p", "uid": "p-uid"},
        "reason": "Started", "message": "started", "type": "Normal", "count": 4,
        "firstTimestamp": now, "lastTimestamp": now, "source": {"component": "kubelet"}}));
    let got = w.take(1).await;
    assert_eq!((got[0]["event_name"].as_str(), got[0]["count"].as_i64()), (Some("old-api"), Some(4)));
    assert_eq!(got[0]["MessageAttributes"]["trace_id"], trace_id.to_string());
    assert_eq!(got[0]["message"], "started");
    exporter.stop().await;
    w.cleanup().await;
}

/// An older client (or controller) writes core/v1 Events; the real API server serves the
/// same object through events.k8s.io/v1 (`deprecatedCount`, `deprecatedSource`, `note`).
#[tokio::test]
async fn a_core_v1_event_written_by_an_older_client_is_exported_with_its_count() {
    let w = World::new().await;
    let exporter = w.start(w.config()).await;
    let trace_id = Uuid::new_v4();
    let ns = w.namespace("legacy", Some(trace_id)).await;
    let now = chrono::Utc::now().to_rfc3339();
    let event: CoreEvent = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "old-api", "namespace": ns},
        "involvedObject": {"kind": "Pod", "name": "p", "uid": "p-uid", "namespace": ns},
        "reason": "Started", "message": "started", "type": "Normal", "count": 4,
        "firstTimestamp": now, "lastTimestamp": now, "source": {"component": "kubelet"}}))
    .unwrap();
    let core: Api<CoreEvent> = Api::namespaced(w.cluster().client(), &ns);
    core.create(&PostParams::default(), &event).await.expect("create a core/v1 Event");
    let got = w.take(1).await;
    assert_eq!((got[0]["event_name"].as_str(), got[0]["count"].as_i64()), (Some("old-api"), Some(4)));
    assert_eq!(got[0]["MessageAttributes"]["trace_id"], trace_id.to_string());
    assert_eq!(
        (got[0]["message"].as_str(), got[0]["reporting_controller"].as_str()),
        (Some("started"), Some("kubelet"))
    );
    exporter.stop().await;
    w.cleanup().await;
}

#[tokio::test]
async fn the_exporter_is_ready_once_connected_to_the_broker_with_its_namespaces_listed() {
    let w = World::new().await;
    let exporter = w.start(w.config()).await;
    let readiness = &exporter.health.readiness;
    for check in ["broker", "namespaces"] {
        let ready = tokio::time::timeout(WITHIN, readiness.wait_for(check, true)).await;
        assert!(ready.is_ok(), "{check} not ready within {WITHIN:?}");
    }
    assert!(readiness.is_ready());
    exporter.stop().await;
    w.cleanup().await;
}
