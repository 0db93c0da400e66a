//! The message handler: `published` → baseline + release → `provisioned`;
//! `cancelled` → uninstall → `deprovisioned`. One order per namespace/release at a time.

use std::sync::Arc;
use std::time::Instant;

use eda_common::consumer::{Handler, HandlerError, Message};
use eda_common::keyed_lock::KeyedLock;
use eda_common::{Envelope, Publisher};

use crate::catalog::Catalog;
use crate::cluster::Cluster;
use crate::deploy::{log_object, Deployer, Release};
use crate::error::{Error, Result};
use crate::events;
use crate::metrics::ProvisionerMetrics;
use crate::objects::{limit_range_for, namespace_for, network_policy_for, resource_quota_for};
use crate::order::{Order, OrderError, Tenant};

/// Everything a delivery needs; `cluster` is `None` in plan mode.
pub struct Provisioner<D> {
    pub catalog: Arc<Catalog>,
    pub cluster: Option<Cluster>,
    pub deployer: D,
    pub publisher: Publisher,
    pub company: String,
    pub locks: KeyedLock,
    pub metrics: ProvisionerMetrics,
}

impl<D: Deployer> Handler for Provisioner<D> {
    async fn handle(&self, message: &Message) -> Result<Vec<Envelope>, HandlerError> {
        let started = Instant::now();
        let (operation, result) = match message.envelope.event_type().action() {
            "published" => ("provision", self.provision(message).await),
            "cancelled" => ("deprovision", self.deprovision(message).await),
            other => {
                tracing::debug!(action = other, "not an order; ignored");
                return Ok(Vec::new());
            }
        };
        let outcome = result.as_ref().map_or_else(Error::class, |_| "ok");
        self.metrics.record(operation, outcome, started.elapsed());
        result.map_err(HandlerError::from)
    }
}

impl<D: Deployer> Provisioner<D> {
    async fn provision(&self, message: &Message) -> Result<Vec<Envelope>> {
        let order = Order::from_envelope(&message.envelope, &self.catalog)?;
        let release = Release::for_order(&order, &self.catalog).ok_or_else(|| {
            OrderError(format!("product: `{}` is not in the catalog", order.tenant.product))
        })?;
        let _turn = self.locks.lock(&lock_key(&order.tenant)).await;
        let started = events::provisioning(&self.company, &order);
        let id = events::derived_id(&message.message_id, "provisioning");
        self.publisher
            .send(self.publisher.event_with_id(&started, &id))
            .await
            .map_err(|source| Error::Publish { action: "provisioning", source })?;
        match &self.cluster {
            Some(cluster) => cluster.apply_baseline(&order, &self.catalog).await?,
            None => log_baseline(&order, &self.catalog),
        }
        let deployed = self.deployer.deploy(&release).await?;
        tracing::info!(namespace = %order.tenant.namespace, release = %order.tenant.release,
            revision = ?deployed.revision, deployer = self.deployer.name(), "provisioned");
        let dry_run = self.cluster.is_none();
        Ok(vec![events::provisioned(&self.company, &order, &release, &deployed, dry_run)])
    }

    async fn deprovision(&self, message: &Message) -> Result<Vec<Envelope>> {
        let tenant = Tenant::from_envelope(&message.envelope)?;
        let _turn = self.locks.lock(&lock_key(&tenant)).await;
        self.deployer.uninstall(&tenant).await?;
        let delete_namespace =
            self.catalog.products.get(&tenant.product).is_some_and(|p| p.delete_namespace_on_cancel);
        if delete_namespace {
            match &self.cluster {
                Some(cluster) => cluster.delete_namespace(&tenant.namespace).await?,
                None => tracing::info!(plan = "delete", kind = "Namespace", name = %tenant.namespace,
                    "plan: would delete"),
            }
        }
        tracing::info!(namespace = %tenant.namespace, release = %tenant.release, delete_namespace,
            "deprovisioned");
        let dry_run = self.cluster.is_none();
        Ok(vec![events::deprovisioned(&self.company, &tenant, delete_namespace, dry_run)])
    }
}

/// Orders for the same release in the same namespace wait for each other.
fn lock_key(tenant: &Tenant) -> String {
    format!("{}/{}", tenant.namespace, tenant.release)
}

/// Plan mode: the baseline objects as they would be applied, one JSON line each.
fn log_baseline(order: &Order, catalog: &Catalog) {
    log_object(&namespace_for(order, catalog));
    log_object(&resource_quota_for(order, catalog));
    log_object(&limit_range_for(order, catalog));
    log_object(&network_policy_for(order));
}
