//! `desired: present`: baseline, the tenant database (for a product with one), then the
//! release, then `provisioned` — and, for a tenant
//! already provisioned, the resync's drift check: the baseline re-applied, the release
//! upgraded only if its chart, version or values changed or helm's storage lost it.

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::{status, Next, Reconciler};
use crate::database::{identifier, secret_name, DatabaseReady};
use crate::deploy::{log_object, release_state, Deployer, Release};
use crate::error::Result;
use crate::events;
use crate::objects::{limit_range_for, namespace_for, network_policy_for, resource_quota_for};
use crate::order::{Order, OrderError, Tenant};
use crate::tenants::{Phase, TenantResource};

impl Reconciler {
    /// `resync`: the tenant is already `Provisioned` for this order; only drift is repaired,
    /// and no event is published.
    pub(super) async fn present(&self, tenant: &TenantResource, resync: bool) -> Result<Next> {
        let spec = &tenant.spec;
        let order = Order { order_span: tenant.order_span().map(str::to_string), ..spec.order() };
        let release = Release::for_order(&order, &self.catalog).ok_or_else(|| {
            OrderError(format!(
                "product: `{}` is not in the catalog (any more); nothing to install",
                spec.product
            ))
        })?;
        let mut tenant = tenant.clone();
        let status = tenant.status();
        let started = status.observes(&spec.order.id) && status.phase == Some(Phase::Provisioning);
        if !resync && !started {
            self.publish(&events::provisioning(&self.company, &order), &spec.order.id, "provisioning")
                .await?;
            let written = self
                .set_status(
                    &tenant,
                    Phase::Provisioning,
                    "Provisioning",
                    "applying the baseline and the release",
                    |_| {},
                )
                .await?;
            tenant.status = Some(written);
        }
        let baseline_repaired = self.apply_baseline(tenant.name(), &order).await?;
        let database = self.ensure_database(&order).await?;
        let hash = release_hash(&release);
        let deploy = !resync || self.release_drifted(&tenant, &order.tenant, &hash).await?;
        if resync {
            self.metrics.resync_repairs(baseline_repaired, deploy);
            if !deploy {
                // Nothing more to do for this spec; a newer one comes with its own watch event.
                return Ok(Next::After(self.resync));
            }
        }
        // About to run helm: not for a spec a newer order has replaced meanwhile.
        if !self.still_wanted(&tenant).await? {
            return Ok(Next::Now);
        }
        if let Some(next) = self.not_leading(tenant.name()) {
            return Ok(next);
        }
        if let Some(wait) = self.wait_for_pending(&order.tenant).await? {
            return Ok(Next::Waiting(wait));
        }
        let deployed = self.target.deploy(&release).await?;
        if !self.still_wanted(&tenant).await? {
            return Ok(Next::Now);
        }
        if !resync {
            let dry_run = self.target.is_plan();
            let event =
                events::provisioned(&self.company, &order, &release, &deployed, database.as_ref(), dry_run);
            self.publish(&event, &spec.order.id, "provisioned").await?;
        }
        let generation = tenant.metadata.generation;
        let message = match deployed.revision {
            Some(revision) => format!("release {} revision {revision} is ready", spec.release),
            None => format!("release {} is ready", spec.release),
        };
        self.set_status(&tenant, Phase::Provisioned, "Provisioned", message, |s| {
            s.attempts = 0;
            s.revision = deployed.revision;
            s.chart = Some(release.chart.display());
            s.version = Some(release.chart.version.clone());
            s.release_hash = Some(hash);
            if let Some(database) = &database {
                let message = format!("database {} (Secret {})", database.dbname, database.secret);
                s.set_condition(status::condition(
                    "DatabaseReady",
                    true,
                    "DatabaseReady",
                    message,
                    generation,
                ));
            }
        })
        .await?;
        tracing::info!(tenant = tenant.name(), trace_id = %spec.trace_id, revision = ?deployed.revision,
            deployer = self.target.name(), resync, "provisioned");
        Ok(Next::After(self.resync))
    }

    /// Applies the baseline; whether that changed an object since this reconciler last applied
    /// it (someone edited or deleted it: a repair).
    async fn apply_baseline(&self, name: &str, order: &Order) -> Result<bool> {
        let Some(cluster) = self.target.cluster() else {
            log_object(&namespace_for(order, &self.catalog));
            log_object(&resource_quota_for(order, &self.catalog));
            log_object(&limit_range_for(order, &self.catalog));
            let database = self.product_database(order).and(self.databases.egress());
            log_object(&network_policy_for(order, database));
            return Ok(false);
        };
        let versions = cluster.apply_baseline(order, &self.catalog).await?;
        let previous = self.memory().baseline.insert(name.to_string(), versions.clone());
        Ok(previous.is_some_and(|previous| previous != versions))
    }

    /// The tenant's database, when its product asks for one (in plan mode only named, and
    /// refused as in apply mode when no database is configured).
    async fn ensure_database(&self, order: &Order) -> Result<Option<DatabaseReady>> {
        let Some(spec) = self.product_database(order) else { return Ok(None) };
        let tenant = &order.tenant;
        let Some(cluster) = self.target.cluster() else {
            self.databases.check_configured(tenant)?;
            let dbname =
                identifier(&tenant.namespace, &tenant.release).map_err(crate::error::Error::Config)?;
            tracing::info!(plan = "create", kind = "Database", name = %dbname, connection_limit = spec.connection_limit,
                "plan: would create the tenant's role, database and Secret");
            return Ok(Some(DatabaseReady { dbname, secret: secret_name(&tenant.release) }));
        };
        self.databases.ensure(cluster.client(), tenant, spec).await.map(Some)
    }

    /// Whether the deployed release differs from the one wanted: another chart, version or
    /// values than last deployed, or a release that is gone (a HelmRelease deleted by hand) or,
    /// in helm's storage, not `deployed`.
    async fn release_drifted(&self, tenant: &TenantResource, who: &Tenant, hash: &str) -> Result<bool> {
        if tenant.status().release_hash.as_deref() != Some(hash) {
            return Ok(true);
        }
        if let Some(present) = self.target.is_present(who).await? {
            return Ok(!present);
        }
        let (true, Some(cluster)) = (self.target.uses_helm_storage(), self.target.cluster()) else {
            return Ok(false);
        };
        let state = release_state(cluster.client(), who).await?;
        Ok(state.is_none_or(|s| s.status != "deployed"))
    }

    /// A release helm left `pending-*`: recovered if abandoned (older than any helm run the
    /// provisioner allows), else waited for (another replica's helm may still be running).
    async fn wait_for_pending(&self, who: &Tenant) -> Result<Option<std::time::Duration>> {
        let (true, Some(cluster)) = (self.target.uses_helm_storage(), self.target.cluster()) else {
            return Ok(None);
        };
        let Some(state) = release_state(cluster.client(), who).await?.filter(|s| s.is_pending()) else {
            return Ok(None);
        };
        let age = state
            .since
            .map_or(std::time::Duration::MAX, |since| (Utc::now() - since).to_std().unwrap_or_default());
        if age < self.abandoned_after {
            let wait = (self.abandoned_after - age).min(self.resync);
            tracing::info!(namespace = %who.namespace, release = %who.release, status = %state.status, ?age,
                "release is pending in helm; waiting for it to finish or be abandoned");
            return Ok(Some(wait.max(std::time::Duration::from_secs(1))));
        }
        self.target.recover(who, &state).await?;
        self.metrics.pending_recovered();
        Ok(None)
    }
}

/// SHA-256 of what makes a release: chart, version and values.
pub fn release_hash(release: &Release) -> String {
    let values = serde_json::to_vec(&release.values).unwrap_or_default();
    let digest = Sha256::new()
        .chain_update(release.chart.display())
        .chain_update(b"\0")
        .chain_update(&release.chart.version)
        .chain_update(b"\0")
        .chain_update(values)
        .finalize();
    hex_of(&digest)
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
