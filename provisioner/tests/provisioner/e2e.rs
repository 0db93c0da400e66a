//! Against a real cluster (kind or k3d): compiled and run only when `EDA_E2E_KUBECONFIG` is set
//! (build.rs turns on `cfg(eda_e2e)`), and then FAILS if its cluster is unreachable — it never
//! passes without having provisioned something. Needs `helm` on the PATH (or
//! `PROVISIONER_HELM_BIN`).
//!
//! `EDA_E2E_KUBECONFIG=~/.kube/config cargo test -p provisioner --test provisioner e2e`

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams};

use crate::helpers::*;

#[tokio::test]
async fn a_real_cluster_gets_the_namespace_the_release_and_the_trace_id_on_its_pods() {
    let kubeconfig = std::env::var("EDA_E2E_KUBECONFIG").expect("EDA_E2E_KUBECONFIG must name a kubeconfig");
    let helm = std::env::var("PROVISIONER_HELM_BIN").unwrap_or_else(|_| "helm".into());
    eda_tests::kube_api::install_crypto_provider();
    let kc = kube::config::Kubeconfig::read_from(&kubeconfig).expect("read EDA_E2E_KUBECONFIG");
    let config =
        kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.expect("a usable kubeconfig");
    let client = kube::Client::try_from(config).expect("a kube client");
    client.apiserver_version().await.expect("the cluster of EDA_E2E_KUBECONFIG is unreachable");

    let client_name = format!("e2e-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let path = std::path::PathBuf::from(&kubeconfig);
    let h = Harness::start(Setup {
        tune: Box::new(move |c| {
            c.kubeconfig = Some(path);
            c.helm_bin = helm.into();
            c.helm_timeout = Duration::from_secs(180);
        }),
        ..Setup::default()
    })
    .await;
    h.publish(&order(&client_name, "published")).await;
    let events = h.next_events(2).await;
    assert_eq!(events[1].0, "provisioned", "{:?}", events[1].1);
    assert!(events[1].1["revision"].as_i64().unwrap() >= 1);

    let ns = Api::<Namespace>::all(client.clone()).get(&client_name).await.expect("the namespace exists");
    assert_eq!(ns.metadata.annotations.unwrap()["eda.io/trace-id"], TRACE_ID);
    let deployment =
        Api::<Deployment>::namespaced(client.clone(), &client_name).get("product-a").await.unwrap();
    let template = deployment.spec.unwrap().template.metadata.unwrap();
    assert_eq!(template.annotations.unwrap()["trace_id"], TRACE_ID);
    assert_eq!(template.labels.unwrap()["trace_id"], TRACE_ID);

    h.publish(&order(&client_name, "cancelled")).await;
    assert_eq!(h.actions(1).await, ["deprovisioned"]);
    Api::<Namespace>::all(client).delete(&client_name, &DeleteParams::background()).await.ok();
    h.finish().await;
}
