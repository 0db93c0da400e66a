//! `desired: absent`: uninstall the release, delete the namespace if the catalog says so,
//! then `deprovisioned`. A tombstone (a cancellation of a tenant never provisioned) ends the
//! same way: helm finds no release, which is the wanted state.

use super::{Next, Reconciler};
use crate::deploy::Deployer;
use crate::error::Result;
use crate::events;
use crate::tenants::{Phase, TenantResource};

impl<D: Deployer> Reconciler<D> {
    /// `settled`: already `Deprovisioned` for this order; nothing to repair.
    pub(super) async fn absent(&self, tenant: &TenantResource, settled: bool) -> Result<Next> {
        if settled {
            return Ok(Next::After(self.resync));
        }
        let spec = &tenant.spec;
        let who = spec.tenant();
        let mut tenant = tenant.clone();
        let status = tenant.status();
        if !(status.observes(&spec.order.id) && status.phase == Some(Phase::Deprovisioning)) {
            let written = self
                .set_status(
                    &tenant,
                    Phase::Deprovisioning,
                    "Deprovisioning",
                    "uninstalling the release",
                    |_| {},
                )
                .await?;
            tenant.status = Some(written);
        }
        self.deployer.uninstall(&who).await?;
        // A product withdrawn from the catalog keeps its namespace: nothing says otherwise.
        let delete_namespace =
            self.catalog.products.get(&spec.product).is_some_and(|p| p.delete_namespace_on_cancel);
        if delete_namespace {
            match &self.cluster {
                Some(cluster) => cluster.delete_namespace(&spec.namespace).await?,
                None => {
                    tracing::info!(plan = "delete", kind = "Namespace", name = %spec.namespace, "plan: would delete")
                }
            }
        }
        if !self.still_wanted(&tenant).await? {
            return Ok(Next::Now);
        }
        let event = events::deprovisioned(&self.company, &who, delete_namespace, self.cluster.is_none());
        self.publish(&event, &spec.order.id, "deprovisioned").await?;
        self.set_status(&tenant, Phase::Deprovisioned, "Deprovisioned", "the release is uninstalled", |s| {
            s.attempts = 0;
            s.revision = None;
            s.release_hash = None;
        })
        .await?;
        tracing::info!(tenant = tenant.name(), trace_id = %spec.trace_id, delete_namespace, "deprovisioned");
        Ok(Next::After(self.resync))
    }
}
