//! The Kubernetes side of provisioning: server-side apply (field manager `eda-provisioner`,
//! forced, so the provisioner's fields always win) of the tenant baseline, and deletion.

use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::objects::{limit_range_for, namespace_for, network_policy_for, resource_quota_for, MANAGER};
use crate::order::Order;

/// A Kubernetes API the provisioner writes to.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
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
    pub fn new(client: Client) -> Self {
        Cluster { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Namespace first (everything else lives in it), then quota, limits and network policy.
    /// Returns each object's resourceVersion after the apply: an apply that changed nothing
    /// leaves it as it was, so a resync can tell a repair from a no-op.
    pub async fn apply_baseline(&self, order: &Order, catalog: &Catalog) -> Result<Vec<String>> {
        let ns = &order.tenant.namespace;
        let c = || self.client.clone();
        Ok(vec![
            version(apply(Api::<Namespace>::all(c()), &namespace_for(order, catalog)).await?),
            version(
                apply(Api::<ResourceQuota>::namespaced(c(), ns), &resource_quota_for(order, catalog)).await?,
            ),
            version(apply(Api::<LimitRange>::namespaced(c(), ns), &limit_range_for(order, catalog)).await?),
            version(apply(Api::<NetworkPolicy>::namespaced(c(), ns), &network_policy_for(order)).await?),
        ])
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
        api.patch(&name, &apply_params(), &Patch::Apply(object))
            .await
            .map_err(|e| Error::kube(format!("apply {} {ns}/{name}", resource.kind), e))
    }

    /// Deletes an object of a dynamic kind; an absent one is fine.
    pub async fn delete_dynamic(&self, resource: &ApiResource, ns: &str, name: &str) -> Result<()> {
        let api = Api::<DynamicObject>::namespaced_with(self.client.clone(), ns, resource);
        ignore_not_found(api.delete(name, &DeleteParams::background()).await.map(drop))
            .map_err(|e| Error::kube(format!("delete {} {ns}/{name}", resource.kind), e))
    }

    /// Deletes a tenant namespace (and so everything in it); an absent one is fine.
    pub async fn delete_namespace(&self, ns: &str) -> Result<()> {
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
    let applied =
        api.patch(&name, &apply_params(), &Patch::Apply(object)).await.map_err(|e| Error::kube(what, e))?;
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
