//! The events the provisioner publishes: `<company>.provisioner.event.<client>.<action>`,
//! in the trace of the order that caused them.

use eda_common::{message_id, Envelope, EventType};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::database::DatabaseReady;
use crate::deploy::{Deployed, Release};
use crate::order::{Order, Tenant};
use crate::tenants::OrderRef;

/// The `app` segment of every event the provisioner publishes.
pub const APP: &str = "provisioner";

/// An event about a tenant with the tenant's fields plus `extra`.
pub fn tenant_event(company: &str, tenant: &Tenant, action: &str, extra: Value) -> Envelope {
    // The client was validated as a DNS-1123 label, so it is a valid routing-key segment.
    let event_type = EventType::new(company, APP, &tenant.client, action)
        .expect("validated client makes a valid event type");
    let mut body = Map::new();
    body.insert("client".into(), tenant.client.clone().into());
    body.insert("namespace".into(), tenant.namespace.clone().into());
    body.insert("product".into(), tenant.product.clone().into());
    body.insert("release".into(), tenant.release.clone().into());
    if let Value::Object(extra) = extra {
        body.extend(extra);
    }
    let mut envelope = Envelope::new(event_type, tenant.trace_id, body);
    envelope.metadata.publisher = Some(APP.into());
    envelope
}

/// `provisioning`: work on an order started.
pub fn provisioning(company: &str, order: &Order) -> Envelope {
    tenant_event(company, &order.tenant, "provisioning", order_fields(order))
}

/// `provisioned`: namespace, release, chart, version, revision, dry_run (DESIGN.md §2).
pub fn provisioned(
    company: &str,
    order: &Order,
    release: &Release,
    deployed: &Deployed,
    database: Option<&DatabaseReady>,
    dry_run: bool,
) -> Envelope {
    let mut extra = order_fields(order);
    let mut fields = json!({
        "chart": release.chart.display(),
        "version": release.chart.version,
        "revision": deployed.revision,
        "dry_run": dry_run,
    });
    if let Some(database) = database {
        // Where the credentials are, never what they are.
        fields["database"] = database.dbname.clone().into();
        fields["database_secret"] = database.secret.clone().into();
    }
    if let (Value::Object(extra), Value::Object(fields)) = (&mut extra, fields) {
        extra.extend(fields);
    }
    tenant_event(company, &order.tenant, "provisioned", extra)
}

/// `deprovisioned`: the release is gone; says whether the namespace went too.
pub fn deprovisioned(company: &str, tenant: &Tenant, namespace_deleted: bool, dry_run: bool) -> Envelope {
    let extra = json!({"namespace_deleted": namespace_deleted, "dry_run": dry_run});
    tenant_event(company, tenant, "deprovisioned", extra)
}

/// A message id derived from the cause's, so a redelivered order's `provisioning` is a
/// duplicate downstream can drop rather than a new event.
pub fn derived_id(cause_message_id: &str, action: &str) -> String {
    let digest =
        Sha256::new().chain_update(cause_message_id).chain_update(b"/").chain_update(action).finalize();
    message_id::derived_from(cause_message_id, &digest.into())
}

fn order_fields(order: &Order) -> Value {
    json!({"environment": order.environment, "hardware": order.hardware})
}

/// `failed`: the reconciler gave up on the tenant's newest order (it tries again at the next
/// resync or order); `error` says why, `order_id` which order, `failed_event_type` (when the
/// Tenant recorded it) what kind of order it was.
pub fn failed(company: &str, order: &Order, cause: &OrderRef, error: &str) -> Envelope {
    let mut extra = order_fields(order);
    if let Value::Object(extra) = &mut extra {
        extra.insert("error".into(), error.into());
        extra.insert("order_id".into(), cause.id.clone().into());
        extra.insert("failed_message_id".into(), cause.id.clone().into());
        if let Some(event_type) = &cause.event_type {
            extra.insert("failed_event_type".into(), event_type.clone().into());
        }
    }
    tenant_event(company, &order.tenant, "failed", extra)
}

/// `superseded`: an order older than the tenant's newest changed nothing (DESIGN.md §8). In
/// the stale order's trace, so that its buyer's status page says why.
pub fn superseded(
    company: &str,
    tenant: &Tenant,
    stale: &crate::order::OrderStamp,
    newer: &crate::tenants::Stale,
) -> Envelope {
    let extra = json!({
        "order_id": stale.id,
        "order_time": stale.time_text(),
        "newer_order_id": newer.newer.id,
        "newer_order_time": newer.newer.time,
        "newer_desired": newer.desired.as_str(),
    });
    tenant_event(company, tenant, "superseded", extra)
}
