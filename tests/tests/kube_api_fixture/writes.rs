//! Writes as the provisioner and the exporter make them: server-side apply, create,
//! replace with optimistic concurrency, the status subresource, delete.

use eda_tests::kube_api::KubeApiTestServer;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::ResourceExt;
use serde_json::json;

use crate::helpers::{api_error, apply, config_map, helm_release_resource, namespace_config, MANAGER};

#[tokio::test]
async fn server_side_apply_creates_a_namespace_with_labels_annotations_and_the_field_manager() {
    let server = KubeApiTestServer::start().await;
    let namespaces: Api<Namespace> = Api::all(server.client());

    namespaces
        .patch(
            "cliente02",
            &apply(),
            &Patch::Apply(namespace_config("cliente02", json!({"eda.io/client": "cliente02"}))),
        )
        .await
        .unwrap();

    let ns = namespaces.get("cliente02").await.unwrap();
    assert_eq!(ns.labels()["eda.io/client"], "cliente02");
    assert_eq!(ns.annotations()["eda.io/trace-id"], "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
    let managers: Vec<_> =
        ns.managed_fields().iter().map(|m| m.manager.clone().unwrap_or_default()).collect();
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
async fn an_apply_body_may_be_yaml_and_a_json_patch_is_unsupported() {
    let server = KubeApiTestServer::start().await;
    let client = server.client();
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n";
    let apply_yaml =
        axum::http::Request::patch("/api/v1/namespaces/c1/configmaps/a?fieldManager=eda-provisioner")
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
    assert_eq!(
        server.get("leases", Some("eda"), "k8s-event-exporter").unwrap()["spec"]["holderIdentity"],
        "replica-1"
    );
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

    let failed =
        json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "InstallFailed"}]}});
    releases.patch_status("product-a", &PatchParams::default(), &Patch::Merge(&failed)).await.unwrap();
    let upgraded = releases.patch("product-a", &apply(), &Patch::Apply(release("1.1.0"))).await.unwrap();

    assert_eq!(upgraded.data["status"], failed["status"]);
    assert_eq!(upgraded.data["spec"]["chart"]["spec"]["version"], "1.1.0");
    assert_eq!(upgraded.metadata.generation, Some(2));
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
