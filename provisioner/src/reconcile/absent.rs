//! `desired: absent`: uninstall the release, drop the tenant database if its product says
//! `onCancel: drop`, delete the namespace if the catalog says so, then `deprovisioned`. A tombstone (a cancellation of a tenant never provisioned) ends the
//! same way: helm finds no release, which is the wanted state.

use super::{Next, Reconciler};
use crate::catalog::OnCancel;
use crate::cluster::NamespaceState;
use crate::deploy::Deployer;
use crate::error::Result;
use crate::events;
use crate::order::Tenant;
use crate::tenants::{Phase, TenantResource};

impl Reconciler {
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
        if let Some(next) = self.not_leading(tenant.name()) {
            return Ok(next);
        }
        let delete_namespace = self.remove(&who, &spec.product).await?;
        if !self.still_wanted(&tenant).await? {
            return Ok(Next::Now);
        }
        let event = events::deprovisioned(&self.company, &who, delete_namespace, self.target.is_plan());
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

    /// Uninstalls the release and deletes the namespace if the product says so (a withdrawn
    /// product keeps it), else takes the provisioner's rights in it back. A namespace that is
    /// gone holds no release; one that is not eda's is refused. Whether the namespace went.
    async fn remove(&self, who: &Tenant, product: &str) -> crate::error::Result<bool> {
        let product = self.catalog.products.get(product);
        let delete_namespace = product.is_some_and(|p| p.delete_namespace_on_cancel);
        // A withdrawn product's database is kept: nothing says it may go.
        let drop_database =
            product.and_then(|p| p.database.as_ref()).is_some_and(|d| d.on_cancel == OnCancel::Drop);
        let Some(cluster) = self.target.cluster() else {
            self.target.uninstall(who).await?;
            if drop_database {
                tracing::info!(plan = "drop", kind = "Database", release = %who.release, "plan: would drop the tenant database");
            }
            if delete_namespace {
                tracing::info!(plan = "delete", kind = "Namespace", name = %who.namespace, "plan: would delete");
            }
            return Ok(delete_namespace);
        };
        if cluster.namespace_state(who).await? == NamespaceState::Absent {
            if drop_database {
                self.databases.drop(cluster.client(), who, false).await?;
            }
            return Ok(delete_namespace);
        }
        cluster.grant_rights(who).await?;
        self.target.uninstall(who).await?;
        if drop_database {
            self.databases.drop(cluster.client(), who, !delete_namespace).await?;
        }
        if delete_namespace {
            cluster.delete_namespace(who).await?;
        } else {
            cluster.revoke_rights(who).await?;
        }
        Ok(delete_namespace)
    }
}
