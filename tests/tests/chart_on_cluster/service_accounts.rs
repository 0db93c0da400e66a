//! The chart's identities on the real control plane: its ServiceAccounts, (Cluster)Roles and
//! (Cluster)RoleBindings rendered by the real helm and applied under this test's release name,
//! and, for the provisioner and the exporter, a kubeconfig and a client carrying a token of
//! their ServiceAccount (TokenRequest), so the real authorizer judges every call they make.

use std::collections::BTreeSet;
use std::path::PathBuf;

use eda_tests::control_plane::{client_for, WITHIN};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use kube::Client;
use serde_json::Value;

use crate::release::{chart_dir, TestRelease};

const RBAC_KINDS: [&str; 5] = ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];

/// A ServiceAccount of the chart, as the services run under it.
pub struct ServiceAccount {
    pub namespace: String,
    pub name: String,
    pub kubeconfig: PathBuf,
    pub client: Client,
}

/// One access, as RBAC sees it.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub namespace: Option<&'a str>,
}

impl ServiceAccount {
    /// `system:serviceaccount:<namespace>:<name>`.
    pub fn user(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }

    /// `kubectl auth can-i <args…>` as this ServiceAccount: its yes or no.
    pub fn can_i(&self, release: &TestRelease, args: &[&str]) -> bool {
        let mut all = vec!["auth", "can-i"];
        all.extend_from_slice(args);
        let out = release.cluster.kubectl_as(&self.kubeconfig, &all);
        let answer = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        match answer.split_whitespace().next() {
            Some("yes") if out.status.success() => true,
            Some("no") if !out.status.success() => false,
            _ => panic!(
                "kubectl auth can-i {} as {}: {answer:?} {}",
                args.join(" "),
                self.user(),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// The authorizer's answer to a SelfSubjectAccessReview made with this identity's token.
    async fn review(&self, access: Access<'_>) -> Result<bool, kube::Error> {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(access.verb.into()),
                    group: Some(access.group.into()),
                    resource: Some(access.resource.into()),
                    namespace: access.namespace.map(str::to_owned),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
        let answered = api.create(&PostParams::default(), &review).await?;
        Ok(answered.status.is_some_and(|s| s.allowed))
    }

    /// Returns once the API server's authorizer has caught up with a binding just created (its
    /// RBAC cache follows a watch), i.e. once it allows `access`. Each turn is one request, no
    /// sleep; bounded by [`WITHIN`].
    async fn until_allowed(&self, access: Access<'_>) {
        let mut last = None;
        let allowed = tokio::time::timeout(WITHIN, async {
            loop {
                match self.review(access).await {
                    Ok(true) => return,
                    outcome => last = Some(outcome),
                }
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(allowed.is_ok(), "{} was never allowed {access:?}: last answer {last:?}", self.user());
    }
}

/// The provisioner's and the exporter's ServiceAccounts, with the chart's RBAC in force.
pub struct ChartServiceAccounts {
    pub provisioner: ServiceAccount,
    pub exporter: ServiceAccount,
}

/// Renders helm/eda (default values) as `release`, applies its RBAC objects in the release's
/// namespace, and waits until the authorizer enforces the bindings.
pub async fn apply_chart_rbac(release: &TestRelease) -> ChartServiceAccounts {
    release.create_namespace().await;
    let rendered = release.render(&chart_dir(), &[]);
    let rbac: Vec<&Value> = rendered.iter().filter(|d| RBAC_KINDS.iter().any(|k| d["kind"] == *k)).collect();
    let names: BTreeSet<(&str, &str)> =
        rbac.iter().map(|d| (d["kind"].as_str().unwrap(), d["metadata"]["name"].as_str().unwrap())).collect();
    let (provisioner, exporter) =
        (format!("{}-provisioner", release.name), format!("{}-k8s-event-exporter", release.name));
    let (producer, dbwriter) = (format!("{}-producer", release.name), format!("{}-dbwriter", release.name));
    let tenant_role = format!("{}-tenant-deployer", release.name);
    let reader_role = format!("{}-tenant-reader", release.name);
    let expected = BTreeSet::from([
        ("ServiceAccount", producer.as_str()),
        ("ServiceAccount", dbwriter.as_str()),
        ("ServiceAccount", provisioner.as_str()),
        ("ServiceAccount", exporter.as_str()),
        ("ClusterRole", provisioner.as_str()),
        ("ClusterRoleBinding", provisioner.as_str()),
        ("Role", provisioner.as_str()),
        ("RoleBinding", provisioner.as_str()),
        ("ClusterRole", tenant_role.as_str()),
        ("ClusterRole", reader_role.as_str()),
        ("ClusterRole", exporter.as_str()),
        ("ClusterRoleBinding", exporter.as_str()),
        ("Role", exporter.as_str()),
        ("RoleBinding", exporter.as_str()),
    ]);
    assert_eq!(names, expected, "the chart's identities and their RBAC");
    release.apply("rbac.yaml", &rbac);

    let provisioner = service_account(release, &provisioner).await;
    let exporter = service_account(release, &exporter).await;
    let access = |verb, group, resource, namespace| Access { verb, group, resource, namespace };
    provisioner.until_allowed(access("create", "", "namespaces", None)).await;
    provisioner
        .until_allowed(access("create", "coordination.k8s.io", "leases", Some(&release.namespace)))
        .await;
    exporter.until_allowed(access("watch", "events.k8s.io", "events", None)).await;
    exporter.until_allowed(access("create", "coordination.k8s.io", "leases", Some(&release.namespace))).await;
    ChartServiceAccounts { provisioner, exporter }
}

async fn service_account(release: &TestRelease, name: &str) -> ServiceAccount {
    let kubeconfig = release.cluster.service_account_kubeconfig(&release.namespace, name, &release.dir).await;
    let client = client_for(&kubeconfig).await.expect("a client with the ServiceAccount's token");
    ServiceAccount { namespace: release.namespace.clone(), name: name.to_owned(), kubeconfig, client }
}
