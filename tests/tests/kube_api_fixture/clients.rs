//! Reaching and reading the fixture: lists with selectors, discovery, kubeconfig, waiting.

use eda_tests::kube_api::KubeApiTestServer;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use kube::discovery::Discovery;
use kube::ResourceExt;
use serde_json::json;

use crate::helpers::{api_error, config_map, namespace_config};

#[tokio::test]
async fn a_label_selector_filters_the_namespace_list() {
    let server = KubeApiTestServer::start().await;
    server
        .put_object(namespace_config("managed", json!({"app.kubernetes.io/managed-by": "eda-provisioner"})));
    server.put_object(namespace_config("other", json!({})));
    let namespaces: Api<Namespace> = Api::all(server.client());

    let selected = namespaces
        .list(&ListParams::default().labels("app.kubernetes.io/managed-by=eda-provisioner"))
        .await
        .unwrap();

    assert_eq!(selected.iter().map(|n| n.name_any()).collect::<Vec<_>>(), ["managed"]);
    assert_eq!(selected.metadata.resource_version.as_deref(), Some(server.resource_version().as_str()));
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
    eda_tests::kube_api::install_crypto_provider();
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
