//! Pure functions from an order and the catalog to the Kubernetes objects of a tenant's
//! baseline: Namespace, ResourceQuota, LimitRange, NetworkPolicy. No API is involved, so
//! every label and quantity is unit-tested.

mod grant;
mod network_policy;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, Namespace, ResourceQuota, ResourceQuotaSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use grant::{role_binding_for, Grant, GRANT_NAME, READER_GRANT_NAME};
pub use network_policy::network_policy_for;

use crate::catalog::Catalog;
use crate::order::{Order, Tenant};

/// The field manager of every server-side apply, and the value of the managed-by label.
pub const MANAGER: &str = "eda-provisioner";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const LABEL_CLIENT: &str = "eda.io/client";
pub const LABEL_ENVIRONMENT: &str = "eda.io/environment";
pub const ANNOTATION_TRACE_ID: &str = "eda.io/trace-id";
/// The `traceparent` of the span that recorded the tenant's newest order (as on its Tenant).
pub const ANNOTATION_TRACEPARENT: &str = crate::tenants::ANNOTATION_TRACEPARENT;
/// Name of the ResourceQuota, LimitRange and NetworkPolicy in every tenant namespace.
pub const BASELINE_NAME: &str = "eda-tenant-baseline";

/// The tenant namespace: ownership and environment labels, Pod Security Admission labels of
/// the environment, and the trace id of the purchase that created (or last touched) it.
pub fn namespace_for(order: &Order, catalog: &Catalog) -> Namespace {
    let mut labels = tenant_labels(&order.tenant);
    labels.insert(LABEL_ENVIRONMENT.into(), order.environment.clone());
    // Order::from_envelope checked the environment exists; an absent one adds no PSA labels.
    if let Some(env) = catalog.environments.get(&order.environment) {
        for mode in ["enforce", "audit", "warn"] {
            labels.insert(format!("pod-security.kubernetes.io/{mode}"), env.pod_security.clone());
        }
    }
    Namespace {
        metadata: ObjectMeta {
            name: Some(order.tenant.namespace.clone()),
            labels: Some(labels),
            annotations: Some(namespace_annotations(order)),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

/// The quota of the order's hardware tier.
pub fn resource_quota_for(order: &Order, catalog: &Catalog) -> ResourceQuota {
    let hard = catalog.hardware.get(&order.hardware).map(|t| quantities(&t.resource_quota));
    ResourceQuota {
        metadata: baseline_meta(&order.tenant),
        spec: Some(ResourceQuotaSpec { hard, ..ResourceQuotaSpec::default() }),
        ..ResourceQuota::default()
    }
}

/// Container defaults and bounds of the order's hardware tier.
pub fn limit_range_for(order: &Order, catalog: &Catalog) -> LimitRange {
    let limits = catalog.hardware.get(&order.hardware).map(|t| t.limit_range.clone()).unwrap_or_default();
    let some = |m: &BTreeMap<String, String>| (!m.is_empty()).then(|| quantities(m));
    LimitRange {
        metadata: baseline_meta(&order.tenant),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".into(),
                default: some(&limits.default),
                default_request: some(&limits.default_request),
                max: some(&limits.max),
                min: some(&limits.min),
                ..LimitRangeItem::default()
            }],
        }),
    }
}

/// `app.kubernetes.io/managed-by` and `eda.io/client`, on everything the provisioner writes.
pub fn tenant_labels(tenant: &Tenant) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED_BY.to_string(), MANAGER.to_string()),
        (LABEL_CLIENT.to_string(), tenant.client.clone()),
    ])
}

/// `eda.io/trace-id`: the trace that last applied the object.
pub fn trace_annotation(tenant: &Tenant) -> BTreeMap<String, String> {
    BTreeMap::from([(ANNOTATION_TRACE_ID.to_string(), tenant.trace_id.to_string())])
}

/// The trace id, and the order's span while spans are exported (for the exporter's spans).
fn namespace_annotations(order: &Order) -> BTreeMap<String, String> {
    let mut annotations = trace_annotation(&order.tenant);
    if let Some(span) = &order.order_span {
        annotations.insert(ANNOTATION_TRACEPARENT.to_string(), span.clone());
    }
    annotations
}

/// Metadata of a baseline object in the tenant namespace.
pub(crate) fn baseline_meta(tenant: &Tenant) -> ObjectMeta {
    ObjectMeta {
        name: Some(BASELINE_NAME.into()),
        namespace: Some(tenant.namespace.clone()),
        labels: Some(tenant_labels(tenant)),
        annotations: Some(trace_annotation(tenant)),
        ..ObjectMeta::default()
    }
}

fn quantities(m: &BTreeMap<String, String>) -> BTreeMap<String, Quantity> {
    m.iter().map(|(k, v)| (k.clone(), Quantity(v.clone()))).collect()
}

#[cfg(test)]
pub(crate) mod tests;
