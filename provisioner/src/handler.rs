//! The order handler: a `published` or `cancelled` becomes its Tenant's desired state, written
//! only if the order is newer than the tenant's newest (DESIGN.md §8). That write is the
//! order's durable effect; the reconciler does the rest. A stale order is acked with no
//! effect and answered with `superseded`. An order is retried (§4) only when its Tenant
//! cannot be written; an invalid one is dead-lettered with the reason.

use std::sync::Arc;

use eda_common::delivery::{Handler, HandlerError, Message};
use eda_common::{Envelope, Publisher};

use crate::catalog::Catalog;
use crate::deploy::Release;
use crate::error::Result;
use crate::events;
use crate::metrics::ProvisionerMetrics;
use crate::order::{Order, OrderError, OrderStamp, Tenant};
use crate::reconcile::{Next, Reconciler};
use crate::tenants::{tenant_name, Recorded, TenantSpec, TenantStore};

/// Everything a delivery needs.
pub struct Provisioner {
    pub catalog: Arc<Catalog>,
    pub store: TenantStore,
    pub publisher: Publisher,
    pub company: String,
    pub metrics: ProvisionerMetrics,
    /// Plan mode: no controller watches a store in memory, so the handler reconciles the
    /// tenant itself, at once, after recording the order.
    pub reconciler: Arc<Reconciler>,
}

impl Handler for Provisioner {
    async fn handle(&self, message: &Message) -> Result<Vec<Envelope>, HandlerError> {
        let stamp = OrderStamp::of(message);
        let spec = match message.envelope.event_type().action() {
            "published" => self.purchase(&message.envelope, &stamp),
            "cancelled" => cancellation(&message.envelope, &stamp),
            other => {
                tracing::debug!(action = other, "not an order; ignored");
                return Ok(Vec::new());
            }
        }
        .map_err(|e| HandlerError::from(crate::Error::from(e)))?;
        self.record(spec, stamp, message).await.map_err(HandlerError::from)
    }
}

impl Provisioner {
    /// A purchase, checked against the catalog before it may become desired state.
    fn purchase(
        &self,
        envelope: &Envelope,
        stamp: &OrderStamp,
    ) -> std::result::Result<TenantSpec, OrderError> {
        let order = Order::from_envelope(envelope, &self.catalog)?;
        Release::for_order(&order, &self.catalog).ok_or_else(|| {
            OrderError(format!("product: `{}` is not in the catalog", order.tenant.product))
        })?;
        Ok(TenantSpec::present(&order, envelope.body_str("archtype").unwrap_or_default(), stamp))
    }

    async fn record(
        &self,
        mut spec: TenantSpec,
        stamp: OrderStamp,
        message: &Message,
    ) -> Result<Vec<Envelope>> {
        spec.order.event_type = Some(message.envelope.event_type().to_string());
        let name = tenant_name(&spec.namespace, &spec.release);
        let tenant = spec.tenant();
        let order_span = eda_common::telemetry::current_traceparent(message.envelope.trace_id());
        match self.store.record(spec, order_span).await? {
            Recorded::Written => {
                tracing::info!(tenant = %name, trace_id = %tenant.trace_id, order = %stamp.id,
                    action = message.envelope.event_type().action(), "order recorded");
                if self.reconciler.target.is_plan() {
                    reconcile_now(&self.reconciler, &name).await?;
                }
                Ok(Vec::new())
            }
            Recorded::Stale(stale) if stale.duplicate => {
                tracing::info!(tenant = %name, trace_id = %tenant.trace_id, order = %stamp.id,
                    "the tenant's newest order again (a redelivery or a replay); nothing changes");
                Ok(Vec::new())
            }
            Recorded::Stale(stale) => {
                self.metrics.stale_order();
                tracing::info!(tenant = %name, trace_id = %tenant.trace_id, order = %stamp.id,
                    order_time = %stamp.time_text(), newer_order = %stale.newer.id, newer_time = %stale.newer.time,
                    "stale order: the tenant has a newer one; nothing changes");
                Ok(vec![events::superseded(&self.company, &tenant, &stamp, &stale)])
            }
        }
    }
}

/// A cancellation: needs no catalog entry (a withdrawn product can be cancelled); keeps
/// whatever purchase details it carries, for a tombstone.
fn cancellation(envelope: &Envelope, stamp: &OrderStamp) -> std::result::Result<TenantSpec, OrderError> {
    let tenant = Tenant::from_envelope(envelope)?;
    let mut spec = TenantSpec::absent(&tenant, stamp);
    let field = |name| envelope.body_str(name).unwrap_or_default().to_string();
    spec.environment = field("environment");
    spec.hardware = field("hardware");
    spec.archtype = field("archtype");
    Ok(spec)
}

/// Plan mode: reconcile until the tenant settles (or a bound, should orders race in).
async fn reconcile_now(reconciler: &Reconciler, name: &str) -> Result<()> {
    for _ in 0..8 {
        if reconciler.reconcile(name).await? != Next::Now {
            break;
        }
    }
    Ok(())
}
