//! The chart's RBAC enforced: as the provisioner's and the exporter's ServiceAccounts, what the
//! roles grant is allowed and what they do not is refused by the real authorizer, both as
//! `kubectl auth can-i` answers it and as a real request that gets 403 Forbidden.

use eda_tests::control_plane::ControlPlane;
use k8s_openapi::api::core::v1::{Namespace, Node, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

use crate::release::{fresh_prefix, TestRelease};
use crate::service_accounts::{apply_chart_rbac, ServiceAccount};

/// The request was refused by the authorizer: 403, naming the verb and resource it lacks.
fn assert_forbidden<T: std::fmt::Debug>(
    outcome: Result<T, kube::Error>,
    account: &ServiceAccount,
    denied: &str,
) {
    match outcome {
        Err(kube::Error::Api(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"), "{status:?}");
            let says = format!("User \"{}\" cannot {denied}", account.user());
            assert!(status.message.contains(&says), "{:?} does not say {says:?}", status.message);
        }
        other => panic!("{} was not refused ({denied}): {other:?}", account.user()),
    }
}

#[tokio::test]
async fn the_charts_service_accounts_are_refused_outside_their_roles_by_the_real_authorizer() {
    let cluster = ControlPlane::connect().await;
    let release = TestRelease::new(&cluster, &fresh_prefix());
    let accounts = apply_chart_rbac(&release).await;
    let (provisioner, exporter) = (&accounts.provisioner, &accounts.exporter);
    let own = release.namespace.as_str();

    // What the roles grant is allowed, so each "no" below is the authorizer's, not a broken token.
    assert!(provisioner.can_i(&release, &["create", "namespaces"]));
    assert!(provisioner
        .can_i(&release, &["create", "rolebindings.rbac.authorization.k8s.io", "-n", "some-tenant"]));
    let tenant_role = format!("clusterroles.rbac.authorization.k8s.io/{}-tenant-deployer", release.name);
    assert!(provisioner.can_i(&release, &["bind", &tenant_role]));
    assert!(provisioner.can_i(&release, &["update", "leases.coordination.k8s.io", "-n", own]));
    // Standing rights hold nothing inside a namespace: a tenant's objects only once the
    // provisioner has bound the tenant role there (chart_on_cluster::at_work).
    assert!(!provisioner.can_i(&release, &["patch", "deployments.apps", "-n", "some-tenant"]));
    assert!(!provisioner.can_i(&release, &["bind", "clusterroles.rbac.authorization.k8s.io/cluster-admin"]));
    for verb in ["get", "list", "delete"] {
        assert!(!provisioner.can_i(&release, &[verb, "secrets", "-n", "kube-system"]), "{verb} secrets");
    }
    assert!(!provisioner.can_i(&release, &["delete", "namespaces/kube-system"]));
    assert!(exporter.can_i(&release, &["watch", "events.events.k8s.io", "--all-namespaces"]));
    assert!(exporter.can_i(&release, &["update", "leases.coordination.k8s.io", "-n", own]));
    assert!(exporter.can_i(&release, &["update", "configmaps", "-n", own]));
    // The exporter's Role holds in its own namespace only; it reads no Secret anywhere.
    assert!(!exporter.can_i(&release, &["update", "leases.coordination.k8s.io", "-n", "default"]));
    assert!(!exporter.can_i(&release, &["get", "secrets", "-n", own]));
    assert!(!exporter.can_i(&release, &["get", "secrets", "--all-namespaces"]));
    // helm creates Deployments; the provisioner never creates Pods itself.
    assert!(!provisioner.can_i(&release, &["create", "pods", "-n", "some-tenant"]));

    // The same, as real requests with the provisioner's token: 403 from the authorizer.
    let secrets: Api<Secret> = Api::namespaced(provisioner.client.clone(), "kube-system");
    let listed = secrets.list(&ListParams::default()).await;
    assert_forbidden(
        listed,
        provisioner,
        "list resource \"secrets\" in API group \"\" in the namespace \"kube-system\"",
    );
    let any = cluster.list("secrets", Some("kube-system"), None).await;
    let name = any
        .first()
        .and_then(|s| s["metadata"]["name"].as_str())
        .expect("kube-system holds Secrets")
        .to_owned();
    assert_forbidden(secrets.get(&name).await, provisioner, "get resource \"secrets\"");
    assert_forbidden(
        secrets.delete(&name, &DeleteParams::default()).await,
        provisioner,
        "delete resource \"secrets\"",
    );
    let namespaces: Api<Namespace> = Api::all(provisioner.client.clone());
    let deleted = namespaces.delete("kube-system", &DeleteParams::default()).await;
    assert_forbidden(deleted, provisioner, "delete resource \"namespaces\"");
    assert!(cluster
        .get("namespaces", None, "kube-system")
        .await
        .is_some_and(|ns| ns["metadata"]["deletionTimestamp"].is_null()));
    // Binding a role it may not bind: RBAC's escalation check refuses, even in a namespace.
    let escalation: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": format!("{}-escalation", provisioner.name), "namespace": own},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": provisioner.name, "namespace": provisioner.namespace}],
    }))
    .unwrap();
    let bindings: Api<RoleBinding> = Api::namespaced(provisioner.client.clone(), own);
    match bindings.create(&PostParams::default(), &escalation).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 403, "{status:?}");
            assert!(
                status.message.contains("attempting to grant RBAC permissions not currently held"),
                "{status:?}"
            );
        }
        other => panic!("binding cluster-admin was not refused: {other:?}"),
    }

    for account in [provisioner, exporter] {
        assert!(!account.can_i(&release, &["list", "nodes"]), "{} can list nodes", account.user());
        assert!(
            !account.can_i(&release, &["create", "clusterrolebindings.rbac.authorization.k8s.io"]),
            "{} can create ClusterRoleBindings",
            account.user()
        );

        let nodes: Api<Node> = Api::all(account.client.clone());
        assert_forbidden(nodes.list(&ListParams::default()).await, account, "list resource \"nodes\"");

        // Binding itself to cluster-admin: refused before RBAC's escalation check is even
        // reached, for want of `create` on ClusterRoleBindings. Labelled as this release's, so
        // cleanup would remove it had it been accepted.
        let name = format!("{}-escalation", account.name);
        let binding: ClusterRoleBinding = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"app.kubernetes.io/instance": release.name}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": account.name, "namespace": account.namespace}],
        }))
        .unwrap();
        let bindings: Api<ClusterRoleBinding> = Api::all(account.client.clone());
        assert_forbidden(
            bindings.create(&PostParams::default(), &binding).await,
            account,
            "create resource \"clusterrolebindings\"",
        );
        assert!(cluster.get("clusterrolebindings", None, &name).await.is_none(), "{name} was not created");
    }
}
