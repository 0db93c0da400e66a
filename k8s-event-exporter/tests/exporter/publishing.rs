//! What gets published, under which event type, with which trace id — and what does not.

use eda_tests::broker::headers;
use eda_tests::kube_api::KubeApiTestServer;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{event_body, World};

#[tokio::test]
async fn an_event_in_a_traced_namespace_is_published_once_with_its_trace_id_and_again_when_its_count_rises() {
    let w = World::new().await;
    let exporter = w.start(w.config()).await;
    let trace_id = Uuid::new_v4();
    w.namespace("cliente02", Some(trace_id));
    w.event("cliente02", "web.1", "BackOff", 1);

    let first = w.take_deliveries(1).await;
    let body = eda_tests::broker::json(&first[0]);
    assert_eq!(first[0].routing_key.as_str(), "mycompany.k8s-event-exporter.event.cliente02-client.backoff");
    assert_eq!(body["MessageAttributes"]["trace_id"], trace_id.to_string());
    assert_eq!(headers(&first[0])["trace_id"], trace_id.to_string());
    assert_eq!(body["namespace"], "cliente02");
    assert_eq!(body["involved_object"], json!({"kind": "Pod", "name": "web.1-pod", "uid": "web.1-pod-uid"}));
    assert_eq!(
        (body["reason"].as_str(), body["type"].as_str(), body["count"].as_i64()),
        (Some("BackOff"), Some("Normal"), Some(1))
    );
    assert_eq!(body["message"], "BackOff happened");
    assert_eq!(body["reporting_controller"], "kubelet");
    assert!(body["first_time"].is_string() && body["last_time"].is_string());
    assert!(body["event_uid"].as_str().is_some_and(|u| !u.is_empty()));

    w.event("cliente02", "web.1", "BackOff", 2);
    let second = w.take(1).await;
    assert_eq!(second[0]["count"], 2);
    assert_eq!(second[0]["event_uid"], body["event_uid"], "the same event, counted again");
    w.assert_nothing_more("cliente02").await;
    let health = exporter.health.clone();
    exporter.stop().await;
    let metrics = health.metrics.encode();
    assert!(
        metrics.contains("eda_k8s_events_published_total{service=\"k8s-event-exporter\"} 3"),
        "{metrics}"
    );
    w.cleanup().await;
}

#[tokio::test]
async fn the_pods_own_trace_id_wins_over_the_namespaces() {
    let w = World::new().await;
    let exporter = w.start(w.config()).await;
    let (namespace_trace, pod_trace) = (Uuid::new_v4(), Uuid::new_v4());
    w.namespace("c3", Some(namespace_trace));
    w.kube.put_object(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web.2-pod", "namespace": "c3", "uid": "web.2-pod-uid",
            "annotations": {"trace_id": pod_trace.to_string()}}}));
    w.event("c3", "web.2", "Pulled", 1);
    let got = w.take(1).await;
    assert_eq!(got[0]["MessageAttributes"]["trace_id"], pod_trace.to_string());
    exporter.stop().await;
    w.cleanup().await;
}

#[tokio::test]
async fn events_of_untraced_and_unselected_namespaces_are_ignored_by_default() {
    let w = World::new().await;
    let exporter = w.start(w.config()).await;
    w.namespace("untraced", None);
    w.kube.put_object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}));
    w.namespace("traced", Some(Uuid::new_v4()));
    w.event("untraced", "a", "Scheduled", 1);
    w.event("kube-system", "b", "Scheduled", 1);
    w.assert_nothing_more("traced").await;
    let metrics = exporter.metrics();
    assert!(metrics.contains("reason=\"untraced\"} 1"), "{metrics}");
    assert!(metrics.contains("reason=\"unselected\"} 1"), "{metrics}");
    exporter.stop().await;
    w.cleanup().await;
}

#[tokio::test]
async fn include_untraced_publishes_them_with_a_fresh_trace_id_marked_untraced() {
    let w = World::new().await;
    let mut config = w.config();
    config.include_untraced = true;
    let exporter = w.start(config).await;
    w.namespace("untraced", None);
    w.event("untraced", "a", "Scheduled", 1);
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
    w.namespace("c4", Some(Uuid::new_v4()));
    w.event("c4", "normal", "Pulled", 1);
    let mut warning = event_body("c4", "mount", "FailedMount", 1, chrono::Utc::now());
    warning["type"] = json!("Warning");
    w.kube.put_object(warning);
    let mut kept = event_body("c4", "backoff", "BackOff", 1, chrono::Utc::now());
    kept["type"] = json!("Warning");
    w.kube.put_object(kept);
    let got = w.take(1).await;
    assert_eq!(got[0]["event_name"], "backoff");
    let mut sentinel = event_body("c4", "sentinel", "Sentinel", 1, chrono::Utc::now());
    sentinel["type"] = json!("Warning");
    w.kube.put_object(sentinel);
    assert_eq!(w.take(1).await[0]["event_name"], "sentinel");
    assert!(exporter.metrics().contains("reason=\"filtered\"} 2"));
    exporter.stop().await;
    w.cleanup().await;
}

#[tokio::test]
async fn events_older_than_the_start_are_skipped_unless_replay_is_set() {
    let w = World::new().await;
    w.namespace("c5", Some(Uuid::new_v4()));
    let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    w.kube.put_object(event_body("c5", "old", "Pulled", 1, an_hour_ago));

    let exporter = w.start(w.config()).await;
    w.assert_nothing_more("c5").await;
    exporter.stop().await;

    w.kube.delete_object("configmaps", Some(crate::helpers::STATE_NAMESPACE), "k8s-event-exporter-state");
    let mut config = w.config();
    config.replay = true;
    let replaying = w.start(config).await;
    let got = w.take(2).await;
    let mut names: Vec<_> = got.iter().map(|m| m["event_name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    assert_eq!(names[0], "old");
    assert!(names[1].starts_with("sentinel-"), "{names:?}");
    replaying.stop().await;
    w.cleanup().await;
}

#[tokio::test]
async fn core_v1_events_are_exported_when_the_api_lacks_events_k8s_io() {
    let kube = KubeApiTestServer::builder().without_group("events.k8s.io").start().await;
    let w = World::with(kube).await;
    let exporter = w.start(w.config()).await;
    let trace_id = Uuid::new_v4();
    w.namespace("legacy", Some(trace_id));
    let now = chrono::Utc::now().to_rfc3339();
    w.kube.put_object(json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "old-api", "namespace": "legacy"},
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

#[tokio::test]
async fn the_exporter_is_ready_once_connected_to_the_broker_with_its_namespaces_listed() {
    let w = World::new().await;
    let exporter = w.start(w.config()).await;
    let readiness = &exporter.health.readiness;
    readiness.wait_for("broker", true).await;
    readiness.wait_for("namespaces", true).await;
    assert!(readiness.is_ready());
    exporter.stop().await;
    w.cleanup().await;
}
