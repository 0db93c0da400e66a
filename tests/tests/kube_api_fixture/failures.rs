//! Errors as kube-rs sees them: a missing object, injected failures, kube's own retries.

use eda_tests::kube_api::KubeApiTestServer;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, Patch};
use serde_json::json;

use crate::helpers::{api_error, apply, namespace_config};

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
    eda_tests::kube_api::install_crypto_provider();
    let no_retry: Api<Namespace> = Api::all(kube::Client::try_from(config).unwrap());
    server.fail_next("GET", "/api/v1/namespaces", 503, 1);
    assert_eq!(api_error(no_retry.list(&ListParams::default()).await), (503, "ServiceUnavailable".into()));
}
