//! Proves the Kubernetes API test fixture with kube-rs itself: what the provisioner and
//! the k8s-event-exporter will do against it must behave as against a real API server.

use std::time::Duration;

use eda_tests::kube_api::KubeApiTestServer;
use futures_util::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::events::v1::Event;
use kube::api::{
    Api, PartialObjectMeta, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use kube::discovery::Discovery;
use kube::runtime::watcher;
use kube::{Error, ResourceExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const MANAGER: &str = "eda-provisioner";
const WAIT: Duration = Duration::from_secs(30);

fn namespace_config(name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels, "annotations": {"eda.io/trace-id": "9a2ae9de-3f82-4f55-966b-47df50ff51ff"}},
    })
}

fn apply() -> PatchParams {
    PatchParams::apply(MANAGER).force()
}

fn helm_release_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("helm.toolkit.fluxcd.io", "v2", "HelmRelease"), "helmreleases")
}

fn config_map(namespace: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": {"k": name}})
}

/// Runs a kube watcher in its own task and forwards a one-line summary of each item, so a
/// test can await them in order.
fn summarized_watcher<K>(api: Api<K>, config: watcher::Config) -> mpsc::UnboundedReceiver<String>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut events = watcher(api, config).boxed();
        while let Some(item) = events.next().await {
            let line = match item {
                Ok(watcher::Event::Init) => "Init".to_string(),
                Ok(watcher::Event::InitApply(o)) => format!("InitApply {} {}", o.name_any(), o.resource_version().unwrap_or_default()),
                Ok(watcher::Event::InitDone) => "InitDone".to_string(),
                Ok(watcher::Event::Apply(o)) => format!("Apply {} {}", o.name_any(), o.resource_version().unwrap_or_default()),
                Ok(watcher::Event::Delete(o)) => format!("Delete {}", o.name_any()),
                Err(watcher::Error::WatchError(status)) => format!("WatchError {} {}", status.code, status.reason),
                Err(other) => format!("Error {other}"),
            };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

async fn next_lines(rx: &mut mpsc::UnboundedReceiver<String>, count: usize) -> Vec<String> {
    let mut lines = Vec::new();
    while lines.len() < count {
        let line = tokio::time::timeout(WAIT, rx.recv()).await.expect("the watcher produced nothing").expect("watcher ended");
        lines.push(line);
    }
    lines
}

fn api_error(result: Result<impl std::fmt::Debug, Error>) -> (u16, String) {
    match result {
        Err(Error::Api(status)) => (status.code, status.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn server_side_apply_creates_a_namespace_with_labels_annotations_and_the_field_manager() {
    let server = KubeApiTestServer::start().await;
    let namespaces: Api<Namespace> = Api::all(server.client());

    namespaces
        .patch("cliente02", &apply(), &Patch::Apply(namespace_config("cliente02", json!({"eda.io/client": "cliente02"}))))
        .await
        .unwrap();

    let ns = namespaces.get("cliente02").await.unwrap();
    assert_eq!(ns.labels()["eda.io/client"], "cliente02");
    assert_eq!(ns.annotations()["eda.io/trace-id"], "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
    let managers: Vec<_> = ns.managed_fields().iter().map(|m| m.manager.clone().unwrap_or_default()).collect();
    assert_eq!(managers, [MANAGER]);
    let calls: Vec<String> = server.requests().iter().map(|r| r.method_and_path()).collect();
    assert_eq!(calls, ["PATCH /api/v1/namespaces/cliente02", "GET /api/v1/namespaces/cliente02"]);
    let apply_call = &server.requests()[0];
    assert_eq!(apply_call.content_type.as_deref(), Some("application/apply-patch+yaml"));
    assert_eq!(apply_call.query_param("fieldManager").as_deref(), Some(MANAGER));
    assert_eq!(apply_call.query_param("force").as_deref(), Some("true"));
    assert_eq!(apply_call.body.as_ref().unwrap()["metadata"]["labels"]["eda.io/client"], "cliente02");
}

#[tokio::test]
async fn applying_the_same_namespace_twice_keeps_its_resource_version() {
    let server = KubeApiTestServer::start().await;
    let namespaces: Api<Namespace> = Api::all(server.client());
    let config = Patch::Apply(namespace_config("c1", json!({"eda.io/client": "c1"})));

    let first = namespaces.patch("c1", &apply(), &config).await.unwrap();
    let second = namespaces.patch("c1", &apply(), &config).await.unwrap();

    assert_eq!(first.resource_version(), second.resource_version());
    assert_eq!(first.managed_fields(), second.managed_fields());
}

#[tokio::test]
async fn applying_without_a_label_removes_the_label_the_same_manager_set() {
    let server = KubeApiTestServer::start().await;
    let namespaces: Api<Namespace> = Api::all(server.client());
    let both = namespace_config("c1", json!({"eda.io/client": "c1", "eda.io/environment": "development"}));
    namespaces.patch("c1", &apply(), &Patch::Apply(both)).await.unwrap();

    let one = namespace_config("c1", json!({"eda.io/client": "c1"}));
    let ns = namespaces.patch("c1", &apply(), &Patch::Apply(one)).await.unwrap();

    assert_eq!(ns.labels().keys().collect::<Vec<_>>(), ["eda.io/client"]);
}

#[tokio::test]
async fn getting_a_missing_object_is_a_404_api_error() {
    let server = KubeApiTestServer::start().await;
    let config_maps: Api<ConfigMap> = Api::namespaced(server.client(), "c1");

    assert_eq!(api_error(config_maps.get("missing").await), (404, "NotFound".into()));
    assert!(config_maps.get_opt("missing").await.unwrap().is_none());
}

#[tokio::test]
async fn an_injected_500_fails_one_call_and_the_next_succeeds() {
    let server = KubeApiTestServer::start().await;
    let namespaces: Api<Namespace> = Api::all(server.client());
    server.fail_next("PATCH", "/api/v1/namespaces/c1", 500, 1);
    let config = Patch::Apply(namespace_config("c1", json!({})));

    assert_eq!(api_error(namespaces.patch("c1", &apply(), &config).await), (500, "InternalError".into()));
    namespaces.patch("c1", &apply(), &config).await.unwrap();

    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 201]);
}

#[tokio::test]
async fn an_injected_503_is_retried_by_kube_itself_unless_default_retry_is_off() {
    let server = KubeApiTestServer::start().await;
    server.fail_next("GET", "/api/v1/namespaces", 503, 1);
    let namespaces: Api<Namespace> = Api::all(server.client());
    namespaces.list(&ListParams::default()).await.unwrap();
    assert_eq!(server.requests().iter().map(|r| r.status).collect::<Vec<_>>(), [503, 200]);

    let mut config = server.config();
    config.default_retry = false;
    let no_retry: Api<Namespace> = Api::all(kube::Client::try_from(config).unwrap());
    server.fail_next("GET", "/api/v1/namespaces", 503, 1);
    assert_eq!(api_error(no_retry.list(&ListParams::default()).await), (503, "ServiceUnavailable".into()));
}

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
    assert_eq!(next_lines(&mut seen, 2).await, [
        format!("Apply pod-a.1 {}", rv(&added)),
        format!("Apply pod-a.1 {}", rv(&updated))
    ]);
    assert_eq!(added["metadata"]["uid"], updated["metadata"]["uid"]);
}

#[tokio::test]
async fn a_watcher_relists_after_a_410_and_misses_no_change() {
    let server = KubeApiTestServer::start().await;
    server.put_object(config_map("c1", "a"));
    let mut seen = summarized_watcher(Api::<ConfigMap>::namespaced(server.client(), "c1"), watcher::Config::default());
    assert_eq!(next_lines(&mut seen, 3).await, ["Init", "InitApply a 2", "InitDone"]);
    server.wait_for(WAIT, |s| (s.open_watches() == 1).then_some(())).await;

    server.put_object(config_map("c1", "b"));
    assert_eq!(next_lines(&mut seen, 1).await, ["Apply b 3"]);
    server.expire_watch_history();
    assert_eq!(next_lines(&mut seen, 5).await, [
        "WatchError 410 Expired",
        "Init",
        "InitApply a 2",
        "InitApply b 3",
        "InitDone"
    ]);
    server.wait_for(WAIT, |s| (s.open_watches() == 1).then_some(())).await;
    server.put_object(config_map("c1", "c"));
    assert_eq!(next_lines(&mut seen, 1).await, ["Apply c 5"]);
}

#[tokio::test]
async fn a_watch_from_an_expired_resource_version_gets_an_expired_error_event() {
    let server = KubeApiTestServer::start().await;
    let old = server.put_object(config_map("c1", "a"))["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    server.expire_watch_history();
    let config_maps: Api<ConfigMap> = Api::namespaced(server.client(), "c1");

    let mut stream = config_maps.watch(&WatchParams::default(), &old).await.unwrap().boxed();

    match stream.next().await {
        Some(Ok(WatchEvent::Error(status))) => assert_eq!((status.code, status.reason.as_str()), (410, "Expired")),
        other => panic!("expected an ERROR event, got {other:?}"),
    }
    assert!(stream.next().await.is_none(), "the stream ends after the 410");
}

#[tokio::test]
async fn ending_watches_makes_the_watcher_resume_from_its_resource_version_without_relisting() {
    let server = KubeApiTestServer::start().await;
    server.put_object(config_map("c1", "a"));
    let mut seen = summarized_watcher(Api::<ConfigMap>::namespaced(server.client(), "c1"), watcher::Config::default());
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
async fn a_stale_resource_version_on_a_lease_is_a_409_conflict() {
    let server = KubeApiTestServer::start().await;
    let leases: Api<Lease> = Api::namespaced(server.client(), "eda");
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": "k8s-event-exporter"}, "spec": {"holderIdentity": "replica-1", "leaseDurationSeconds": 15},
    }))
    .unwrap();

    let created = leases.create(&PostParams::default(), &lease).await.unwrap();
    assert_eq!(api_error(leases.create(&PostParams::default(), &lease).await), (409, "AlreadyExists".into()));
    let mut renewed = created.clone();
    renewed.spec.as_mut().unwrap().holder_identity = Some("replica-1".into());
    renewed.spec.as_mut().unwrap().lease_transitions = Some(1);
    leases.replace("k8s-event-exporter", &PostParams::default(), &renewed).await.unwrap();

    let mut stolen = created;
    stolen.spec.as_mut().unwrap().holder_identity = Some("replica-2".into());
    let stale = leases.replace("k8s-event-exporter", &PostParams::default(), &stolen).await;
    assert_eq!(api_error(stale), (409, "Conflict".into()));
    assert_eq!(server.get("leases", Some("eda"), "k8s-event-exporter").unwrap()["spec"]["holderIdentity"], "replica-1");
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
async fn the_status_subresource_changes_only_the_status_and_apply_keeps_it() {
    let server = KubeApiTestServer::start().await;
    let releases: Api<DynamicObject> = Api::namespaced_with(server.client(), "c1", &helm_release_resource());
    let release = |version: &str| {
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "product-a"}, "spec": {"chart": {"spec": {"version": version}}}})
    };
    releases.patch("product-a", &apply(), &Patch::Apply(release("1.0.0"))).await.unwrap();

    let failed = json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "InstallFailed"}]}});
    releases.patch_status("product-a", &PatchParams::default(), &Patch::Merge(&failed)).await.unwrap();
    let upgraded = releases.patch("product-a", &apply(), &Patch::Apply(release("1.1.0"))).await.unwrap();

    assert_eq!(upgraded.data["status"], failed["status"]);
    assert_eq!(upgraded.data["spec"]["chart"]["spec"]["version"], "1.1.0");
    assert_eq!(upgraded.metadata.generation, Some(2));
}

#[tokio::test]
async fn a_label_selector_filters_the_namespace_list() {
    let server = KubeApiTestServer::start().await;
    server.put_object(namespace_config("managed", json!({"app.kubernetes.io/managed-by": "eda-provisioner"})));
    server.put_object(namespace_config("other", json!({})));
    let namespaces: Api<Namespace> = Api::all(server.client());

    let selected = namespaces.list(&ListParams::default().labels("app.kubernetes.io/managed-by=eda-provisioner")).await.unwrap();

    assert_eq!(selected.iter().map(|n| n.name_any()).collect::<Vec<_>>(), ["managed"]);
    assert_eq!(selected.metadata.resource_version.as_deref(), Some(server.resource_version().as_str()));
}

#[tokio::test]
async fn deleting_a_namespace_deletes_what_is_in_it() {
    let server = KubeApiTestServer::start().await;
    server.put_object(namespace_config("c1", json!({})));
    server.put_object(config_map("c1", "a"));
    let namespaces: Api<Namespace> = Api::all(server.client());

    namespaces.delete("c1", &DeleteParams::default()).await.unwrap();

    assert!(server.get("namespaces", None, "c1").is_none());
    assert!(server.list("configmaps", Some("c1")).is_empty());
}

#[tokio::test]
async fn discovery_lists_events_k8s_io_only_while_it_is_served() {
    let server = KubeApiTestServer::start().await;
    let client = server.client();

    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    assert!(discovery.has_group("events.k8s.io"));
    assert!(discovery.has_group("helm.toolkit.fluxcd.io"));
    let aggregated = Discovery::new(client.clone()).run_aggregated().await.unwrap();
    assert!(aggregated.has_group("events.k8s.io"));

    server.set_group_served("events.k8s.io", false);
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    assert!(!discovery.has_group("events.k8s.io"));
    assert!(discovery.has_group(""), "core/v1 events remain");
    let events: Api<Event> = Api::all(client);
    assert_eq!(api_error(events.list(&ListParams::default()).await).0, 404);
}

#[tokio::test]
async fn a_server_started_without_events_k8s_io_serves_core_events_only() {
    let server = KubeApiTestServer::builder().without_group("events.k8s.io").start().await;
    let groups = server.client().list_api_groups().await.unwrap();

    assert!(groups.groups.iter().all(|g| g.name != "events.k8s.io"));
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::all(server.client());
    assert!(core.list(&ListParams::default()).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn a_client_built_from_the_written_kubeconfig_reaches_the_fixture() {
    let server = KubeApiTestServer::start().await;
    server.put_object(namespace_config("c1", json!({})));
    let dir = std::env::temp_dir().join(format!("eda-kube-api-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = server.write_kubeconfig(&dir);

    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    let namespaces: Api<Namespace> = Api::all(kube::Client::try_from(config).unwrap());

    assert_eq!(namespaces.list(&ListParams::default()).await.unwrap().items.len(), 1);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn waiting_for_an_object_returns_once_a_client_wrote_it() {
    let server = KubeApiTestServer::start().await;
    let config_maps: Api<ConfigMap> = Api::namespaced(server.client(), "c1");
    let writer = tokio::spawn(async move {
        let cm: ConfigMap = serde_json::from_value(config_map("c1", "a")).unwrap();
        config_maps.create(&PostParams::default(), &cm).await.unwrap();
    });

    let written = server.wait_for_object("configmaps", Some("c1"), "a", |o| o["data"]["k"] == "a").await;

    assert_eq!(written["metadata"]["generation"], 1);
    writer.await.unwrap();
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

#[tokio::test]
async fn an_apply_body_may_be_yaml_and_a_json_patch_is_unsupported() {
    let server = KubeApiTestServer::start().await;
    let client = server.client();
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n";
    let apply_yaml = axum::http::Request::patch("/api/v1/namespaces/c1/configmaps/a?fieldManager=eda-provisioner")
        .header("Content-Type", "application/apply-patch+yaml")
        .body(yaml.as_bytes().to_vec())
        .unwrap();

    client.request_text(apply_yaml).await.unwrap();

    assert_eq!(server.get("configmaps", Some("c1"), "a").unwrap()["data"]["k"], "v");
    let json_patch = axum::http::Request::patch("/api/v1/namespaces/c1/configmaps/a")
        .header("Content-Type", "application/json-patch+json")
        .body(br#"[{"op":"remove","path":"/data"}]"#.to_vec())
        .unwrap();
    assert_eq!(api_error(client.request_text(json_patch).await).0, 415);
}
