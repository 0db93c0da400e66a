//! The `Tenant` resource (`tenants.eda.io/v1alpha1`, cluster-scoped, DESIGN.md §8): a
//! client's product, the newest order for it (`spec`) and what the reconciler made of it
//! (`status`). Orders write the spec; the reconciler alone writes the status.

mod resource;
mod spec;
mod store;

pub use resource::{TenantResource, ANNOTATION_TRACEPARENT, GROUP, KIND, PLURAL, VERSION};
pub use spec::{merge_order, Condition, Desired, OrderRef, Phase, Stale, TenantSpec, TenantStatus};
pub use store::{Recorded, TenantStore, LABEL_PREFIX};

/// A Tenant's name: `<namespace>.<release>` (both DNS-1123 labels, so a valid object name).
pub fn tenant_name(namespace: &str, release: &str) -> String {
    format!("{namespace}.{release}")
}
