//! Watches and kube-rs watchers: live changes, 410 and relists, ended streams, selectors,
//! timeouts, bookmarks, streaming lists.

use eda_tests::kube_api::KubeApiTestServer;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DynamicObject, PartialObjectMeta, Patch, WatchEvent, WatchParams};
use kube::runtime::watcher;
use kube::ResourceExt;
use serde_json::{json, Value};

use crate::helpers::{
    apply, config_map, helm_release_resource, namespace_config, next_lines, summarized_watcher, WAIT,
};

#[tokio::test]
async fn a_watcher_sees_an_event_put_by_the_test_and_its_update() {
    let server = KubeApiTestServer::start().await;
    let events: Api<Event> = Api::all(server.client());
    let mut seen = summarized_watcher(events, watcher::Config::default());
    assert_eq!(next_lines(&mut seen, 2).await, ["Init", "InitDone"]);
    server.wait_for(WAIT, |s| (s.open_watches() == 1).then_some(())).await;

    let mut event = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "pod-a.1", "namespace": "c1"},
        "reason": "Scheduled", "type": "Normal", "note": "assigned", "eventTime": "2025-01-01T00:00:00.000000Z",
    });
    let added = server.put_object(&event);
    event["series"] = json!({"count": 2, "lastObservedTime": "2025-01-01T00:00:05.000000Z"});
    let updated = server.put_object(&event);

    let rv = |o: &Value| o["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    assert_eq!(
        next_lines(&mut seen, 2).await,
        [format!("Apply pod-a.1 {}", rv(&added)), format!("Apply pod-a.1 {}", rv(&updated))]
    );
    assert_eq!(added["metadata"]["uid"], updated["metadata"]["uid"]);
}

#[tokio::test]
async fn a_helm_release_can_be_applied_and_a_watcher_sees_the_status_the_test_sets() {
    let server = KubeApiTestServer::start().await;
    let resource = helm_release_resource();
    let releases: Api<DynamicObject> = Api::namespaced_with(server.client(), "c1", &resource);
    let release = json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "product-a", "namespace": "c1"},
        "spec": {"chart": {"spec": {"chart": "demo-product"}}, "commonMetadata": {"annotations": {"eda.io/trace-id": "t"}}},
    });
    releases.patch("product-a", &apply(), &Patch::Apply(&release)).await.unwrap();
    let mut seen = summarized_watcher(releases.clone(), watcher::Config::default());
    assert_eq!(next_lines(&mut seen, 3).await, ["Init", "InitApply product-a 2", "InitDone"]);
    server.wait_for(WAIT, |s| (s.open_watches() == 1).then_some(())).await;

    let ready = json!({"conditions": [{"type": "Ready", "status": "True", "reason": "InstallSucceeded"}]});
    server.set_status("helmreleases", Some("c1"), "product-a", ready.clone());

    assert_eq!(next_lines(&mut seen, 1).await, ["Apply product-a 3"]);
    let stored = releases.get("product-a").await.unwrap();
    assert_eq!(stored.data["status"], ready);
    assert_eq!(stored.metadata.generation, Some(1), "a status change keeps the generation");
}

#[tokio::test]
async fn a_watcher_relists_after_a_410_and_misses_no_change() {
    let server = KubeApiTestServer::start().await;
    server.put_object(config_map("c1", "a"));
    let mut seen =
        summarized_watcher(Api::<ConfigMap>::namespaced(server.client(), "c1"), watcher::Config::default());
    assert_eq!(next_lines(&mut seen, 3).await, ["Init", "InitApply a 2", "InitDone"]);
    server.wait_for(WAIT, |s| (s.open_watches() == 1).then_some(())).await;

    server.put_object(config_map("c1", "b"));
    assert_eq!(next_lines(&mut seen, 1).await, ["Apply b 3"]);
    server.expire_watch_history();
    assert_eq!(
        next_lines(&mut seen, 5).await,
        ["WatchError 410 Expired", "Init", "InitApply a 2", "InitApply b 3", "InitDone"]
    );
    server.wait_for(WAIT, |s| (s.open_watches() == 1).then_some(())).await;
    server.put_object(config_map("c1", "c"));
    assert_eq!(next_lines(&mut seen, 1).await, ["Apply c 5"]);
}

#[tokio::test]
async fn a_watch_from_an_expired_resource_version_gets_an_expired_error_event() {
    let server = KubeApiTestServer::start().await;
    let old =
        server.put_object(config_map("c1", "a"))["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    server.expire_watch_history();
    let config_maps: Api<ConfigMap> = Api::namespaced(server.client(), "c1");

    let mut stream = config_maps.watch(&WatchParams::default(), &old).await.unwrap().boxed();

    match stream.next().await {
        Some(Ok(WatchEvent::Error(status))) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"))
        }
        other => panic!("expected an ERROR event, got {other:?}"),
    }
    assert!(stream.next().await.is_none(), "the stream ends after the 410");
}

#[tokio::test]
async fn ending_watches_makes_the_watcher_resume_from_its_resource_version_without_relisting() {
    let server = KubeApiTestServer::start().await;
    server.put_object(config_map("c1", "a"));
    let mut seen =
        summarized_watcher(Api::<ConfigMap>::namespaced(server.client(), "c1"), watcher::Config::default());
    assert_eq!(next_lines(&mut seen, 3).await, ["Init", "InitApply a 2", "InitDone"]);
    server.wait_for(WAIT, |s| (s.open_watches() == 1).then_some(())).await;

    server.end_watches();
    server.put_object(config_map("c1", "b"));

    assert_eq!(next_lines(&mut seen, 1).await, ["Apply b 3"]);
    let watches: Vec<_> = server.requests().into_iter().filter(|r| r.is_watch()).collect();
    let from: Vec<_> = watches.iter().map(|r| r.query_param("resourceVersion").unwrap()).collect();
    assert_eq!(from, ["2", "2"]);
    assert_eq!(server.requests().iter().filter(|r| !r.is_watch()).count(), 1, "one list only");
}

#[tokio::test]
async fn a_watch_sees_a_namespace_enter_and_leave_its_label_selection() {
    let server = KubeApiTestServer::start().await;
    let namespaces: Api<Namespace> = Api::all(server.client());
    let params = WatchParams::default().labels("app.kubernetes.io/managed-by=eda-provisioner");
    let mut stream = namespaces.watch(&params, "1").await.unwrap().boxed();

    server.put_object(namespace_config("c1", json!({})));
    server.put_object(namespace_config("c1", json!({"app.kubernetes.io/managed-by": "eda-provisioner"})));
    server.put_object(namespace_config("c1", json!({})));

    let mut kinds = Vec::new();
    for _ in 0..2 {
        match stream.next().await {
            Some(Ok(WatchEvent::Added(ns))) => kinds.push(format!("ADDED {}", ns.name_any())),
            Some(Ok(WatchEvent::Deleted(ns))) => kinds.push(format!("DELETED {}", ns.name_any())),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(kinds, ["ADDED c1", "DELETED c1"]);
}

#[tokio::test]
async fn a_watch_ends_cleanly_after_its_timeout_seconds() {
    let server = KubeApiTestServer::start().await;
    let config_maps: Api<ConfigMap> = Api::namespaced(server.client(), "c1");

    let mut stream = config_maps.watch(&WatchParams::default().timeout(1), "1").await.unwrap().boxed();

    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn a_watch_that_allows_bookmarks_gets_one_when_the_test_sends_them() {
    let server = KubeApiTestServer::start().await;
    server.put_object(config_map("c1", "a"));
    let config_maps: Api<ConfigMap> = Api::namespaced(server.client(), "c1");
    let mut stream = config_maps.watch(&WatchParams::default(), "1").await.unwrap().boxed();
    assert!(matches!(stream.next().await, Some(Ok(WatchEvent::Added(_)))));

    server.send_bookmarks();

    match stream.next().await {
        Some(Ok(WatchEvent::Bookmark(bookmark))) => {
            assert_eq!(bookmark.metadata.resource_version, server.resource_version())
        }
        other => panic!("expected a BOOKMARK, got {other:?}"),
    }
}

#[tokio::test]
async fn a_streaming_list_watcher_gets_the_initial_events_and_their_end() {
    let server = KubeApiTestServer::start().await;
    server.put_object(config_map("c1", "a"));
    let api = Api::<ConfigMap>::namespaced(server.client(), "c1");

    let mut seen = summarized_watcher(api, watcher::Config::default().streaming_lists());

    assert_eq!(next_lines(&mut seen, 3).await, ["Init", "InitApply a 2", "InitDone"]);
    let first = server.wait_for_request(|r| r.is_watch()).await;
    assert_eq!(first.query_param("sendInitialEvents").as_deref(), Some("true"));
}

#[tokio::test]
async fn a_metadata_watcher_sees_namespace_labels() {
    let server = KubeApiTestServer::start().await;
    server.put_object(namespace_config("c1", json!({"eda.io/client": "c1"})));
    let namespaces: Api<PartialObjectMeta<Namespace>> = Api::all(server.client());

    let mut stream = watcher(namespaces, watcher::Config::default()).boxed();

    loop {
        match stream.next().await {
            Some(Ok(watcher::Event::InitApply(ns))) => {
                assert_eq!(ns.labels()["eda.io/client"], "c1");
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}
