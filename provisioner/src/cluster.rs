//! The Kubernetes side of provisioning: server-side apply (field manager `eda-provisioner`,
//! forced, so the provisioner's fields always win) of the tenant baseline, the provisioner's
//! own rights in the tenant namespace (a RoleBinding, when `--subject` names its identity), and
//! deletion. A namespace that exists and is not eda's is never touched.

use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument as _;

use crate::catalog::Catalog;
use crate::database::DatabaseEgress;
use crate::error::{Error, Result};
use crate::objects::{
    limit_range_for, namespace_for, network_policy_for, resource_quota_for, role_binding_for, Grant,
    LABEL_CLIENT, LABEL_MANAGED_BY, MANAGER,
};
use crate::order::{Order, OrderError, Tenant};

/// How long a RoleBinding just written may take to be enforced (the authorizer follows a watch).
const GRANT_ENFORCED_WITHIN: Duration = Duration::from_secs(10);

/// A tenant's namespace as the provisioner finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceState {
    Absent,
    /// It exists and its labels say eda made it for this client.
    Managed,
}

/// A Kubernetes API the provisioner writes to.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    /// The RoleBindings of each tenant namespace, the provisioner's own first; none: its
    /// identity already holds the rights (an admin kubeconfig), so no RoleBinding is written.
    grants: Vec<Grant>,
    /// Where tenants of a product with a database may reach it (their NetworkPolicy's egress).
    database_egress: Option<DatabaseEgress>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").finish_non_exhaustive()
    }
}

/// Server-side apply, forced: the provisioner owns the fields it sets.
pub fn apply_params() -> PatchParams {
    PatchParams::apply(MANAGER).force()
}

impl Cluster {
    pub fn new(client: Client, grants: Vec<Grant>) -> Self {
        Cluster { client, grants, database_egress: None }
    }

    pub fn with_database_egress(self, database_egress: Option<DatabaseEgress>) -> Self {
        Cluster { database_egress, ..self }
    }

    /// The database egress for a tenant of this product: only a product with a database has one.
    pub fn database_egress_for(&self, order: &Order, catalog: &Catalog) -> Option<&DatabaseEgress> {
        let product = catalog.products.get(&order.tenant.product)?;
        product.database.as_ref().and(self.database_egress.as_ref())
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Namespace first (everything else lives in it), the provisioner's rights in it, then
    /// quota, limits and network policy. Returns each object's resourceVersion after the apply:
    /// an apply that changed nothing leaves it as it was, so a resync can tell a repair from a
    /// no-op. Refuses a namespace that exists and is not eda's.
    pub async fn apply_baseline(&self, order: &Order, catalog: &Catalog) -> Result<Vec<String>> {
        let tenant = &order.tenant;
        let ns = &tenant.namespace;
        self.namespace_state(tenant).await?;
        let c = || self.client.clone();
        let mut versions =
            vec![version(apply(Api::<Namespace>::all(c()), &namespace_for(order, catalog)).await?)];
        versions.extend(self.grant_rights(tenant).await?);
        versions.extend([
            version(
                apply(Api::<ResourceQuota>::namespaced(c(), ns), &resource_quota_for(order, catalog)).await?,
            ),
            version(apply(Api::<LimitRange>::namespaced(c(), ns), &limit_range_for(order, catalog)).await?),
            version(
                apply(
                    Api::<NetworkPolicy>::namespaced(c(), ns),
                    &network_policy_for(order, self.database_egress_for(order, catalog)),
                )
                .await?,
            ),
        ]);
        Ok(versions)
    }

    /// Absent, or eda's for this client (`app.kubernetes.io/managed-by=eda-provisioner` and
    /// `eda.io/client`); any other namespace is refused, permanently.
    pub async fn namespace_state(&self, tenant: &Tenant) -> Result<NamespaceState> {
        let ns = &tenant.namespace;
        let api = Api::<Namespace>::all(self.client.clone());
        let found = api.get_opt(ns).await.map_err(|e| Error::kube(format!("get Namespace {ns}"), e))?;
        let Some(found) = found else { return Ok(NamespaceState::Absent) };
        let labels = found.metadata.labels.unwrap_or_default();
        let ours = labels.get(LABEL_MANAGED_BY).is_some_and(|m| m == MANAGER)
            && labels.get(LABEL_CLIENT).is_some_and(|c| *c == tenant.client);
        if !ours {
            return Err(OrderError(format!(
                "namespace `{ns}` exists and is not eda's for this client (labels {LABEL_MANAGED_BY}={MANAGER}, \
                 {LABEL_CLIENT}={}); refusing to touch it",
                tenant.client
            ))
            .into());
        }
        Ok(NamespaceState::Managed)
    }

    /// Writes the tenant namespace's RoleBindings and waits until the authorizer enforces the
    /// provisioner's own; their resourceVersions (none without `--subject`).
    pub async fn grant_rights(&self, tenant: &Tenant) -> Result<Vec<String>> {
        let api = Api::<RoleBinding>::namespaced(self.client.clone(), &tenant.namespace);
        let mut versions = Vec::with_capacity(self.grants.len());
        for grant in &self.grants {
            versions.push(version(apply(api.clone(), &role_binding_for(tenant, grant)).await?));
        }
        if !self.grants.is_empty() {
            self.until_enforced(&tenant.namespace).await?;
        }
        Ok(versions)
    }

    /// Removes the RoleBindings from a tenant namespace that stays, the provisioner's own last.
    pub async fn revoke_rights(&self, tenant: &Tenant) -> Result<()> {
        let ns = &tenant.namespace;
        let api = Api::<RoleBinding>::namespaced(self.client.clone(), ns);
        for grant in self.grants.iter().rev() {
            ignore_not_found(api.delete(&grant.name, &DeleteParams::default()).await.map(drop))
                .map_err(|e| Error::kube(format!("delete RoleBinding {ns}/{}", grant.name), e))?;
        }
        Ok(())
    }

    /// Asks the authorizer (a SelfSubjectAccessReview) until it allows what the binding grants.
    async fn until_enforced(&self, ns: &str) -> Result<()> {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some("create".into()),
                    resource: Some("resourcequotas".into()),
                    namespace: Some(ns.into()),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let api = Api::<SelfSubjectAccessReview>::all(self.client.clone());
        let started = Instant::now();
        loop {
            let answer = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(|e| Error::kube(format!("review the provisioner's access in {ns}"), e))?;
            if answer.status.is_some_and(|s| s.allowed) || started.elapsed() >= GRANT_ENFORCED_WITHIN {
                // Past the bound the next request tells, with the authorizer's own words.
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Applies an object of a kind known at run time (a Flux HelmRelease or source).
    pub async fn apply_dynamic(
        &self,
        object: &DynamicObject,
        resource: &ApiResource,
    ) -> Result<DynamicObject> {
        let ns = object.metadata.namespace.as_deref().unwrap_or("default");
        let api = Api::<DynamicObject>::namespaced_with(self.client.clone(), ns, resource);
        let name = object.metadata.name.clone().unwrap_or_default();
        let span = tracing::info_span!("kubernetes.apply", otel.name = %format_args!("apply {}", resource.kind),
            k8s.object = %format_args!("{} {ns}/{name}", resource.kind));
        api.patch(&name, &apply_params(), &Patch::Apply(object))
            .instrument(span)
            .await
            .map_err(|e| Error::kube(format!("apply {} {ns}/{name}", resource.kind), e))
    }

    /// Deletes an object of a dynamic kind; an absent one is fine.
    pub async fn delete_dynamic(&self, resource: &ApiResource, ns: &str, name: &str) -> Result<()> {
        let api = Api::<DynamicObject>::namespaced_with(self.client.clone(), ns, resource);
        ignore_not_found(api.delete(name, &DeleteParams::background()).await.map(drop))
            .map_err(|e| Error::kube(format!("delete {} {ns}/{name}", resource.kind), e))
    }

    /// Deletes a tenant namespace (and so everything in it); an absent one is fine. Its labels
    /// are checked right before: a namespace that is not eda's for this client is never deleted.
    pub async fn delete_namespace(&self, tenant: &Tenant) -> Result<()> {
        let ns = &tenant.namespace;
        if self.namespace_state(tenant).await? == NamespaceState::Absent {
            return Ok(());
        }
        let api = Api::<Namespace>::all(self.client.clone());
        ignore_not_found(api.delete(ns, &DeleteParams::background()).await.map(drop))
            .map_err(|e| Error::kube(format!("delete Namespace {ns}"), e))
    }
}

async fn apply<K>(api: Api<K>, object: &K) -> Result<K>
where
    K: Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
{
    let name = object.meta().name.clone().unwrap_or_default();
    let what = match &object.meta().namespace {
        Some(ns) => format!("apply {} {ns}/{name}", K::kind(&())),
        None => format!("apply {} {name}", K::kind(&())),
    };
    // A span per apply, named by the kind only (low cardinality); the object is an attribute.
    let span = tracing::info_span!("kubernetes.apply", otel.name = %format_args!("apply {}", K::kind(&())),
        k8s.object = %what.trim_start_matches("apply "));
    let applied = api
        .patch(&name, &apply_params(), &Patch::Apply(object))
        .instrument(span)
        .await
        .map_err(|e| Error::kube(what, e))?;
    Ok(applied)
}

fn version<K: Resource>(object: K) -> String {
    object.meta().resource_version.clone().unwrap_or_default()
}

/// 404 on a delete means the wanted state already holds.
fn ignore_not_found(result: kube::Result<()>) -> kube::Result<()> {
    match result {
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        other => other,
    }
}
