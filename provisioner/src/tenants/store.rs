//! Where Tenants live: the Kubernetes API (`--mode apply`) or memory (`--mode plan`), with
//! the same rule in both: an order writes the spec only if it is newer, under optimistic
//! concurrency (the API's resourceVersion; a lock in memory).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::resource::{TenantResource, ANNOTATION_TRACEPARENT};
use super::spec::{merge_order, Stale, TenantSpec, TenantStatus};
use super::tenant_name;
use crate::error::{Error, Result};

/// The label that says which installation (topology prefix) a Tenant belongs to.
pub const LABEL_PREFIX: &str = "eda.io/prefix";

/// Writes that lose a race are retried this many times before the order is retried (§4).
const MAX_CONFLICTS: usize = 8;

/// What an order did to its Tenant.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// The spec is now the order's: the reconciler takes it from here.
    Written,
    /// The tenant already had a newer order; nothing changed.
    Stale(Stale),
}

/// The Tenants of one installation.
#[derive(Clone)]
pub enum TenantStore {
    Kube { api: Box<Api<TenantResource>>, prefix: String },
    Memory { tenants: Arc<Mutex<BTreeMap<String, TenantResource>>>, prefix: String },
}

impl std::fmt::Debug for TenantStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TenantStore::Kube { prefix, .. } => write!(f, "TenantStore::Kube({prefix})"),
            TenantStore::Memory { prefix, .. } => write!(f, "TenantStore::Memory({prefix})"),
        }
    }
}

impl TenantStore {
    pub fn kube(client: kube::Client, prefix: &str) -> Self {
        TenantStore::Kube { api: Box::new(Api::all(client)), prefix: prefix.to_string() }
    }

    pub fn memory(prefix: &str) -> Self {
        TenantStore::Memory { tenants: Arc::default(), prefix: prefix.to_string() }
    }

    pub fn prefix(&self) -> &str {
        match self {
            TenantStore::Kube { prefix, .. } | TenantStore::Memory { prefix, .. } => prefix,
        }
    }

    /// The label selector of this installation's Tenants.
    pub fn selector(&self) -> String {
        format!("{LABEL_PREFIX}={}", self.prefix())
    }

    fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(LABEL_PREFIX.to_string(), self.prefix().to_string())])
    }

    /// Writes the order's spec unless the tenant has a newer order.
    /// Writes the spec an order asks for, if the order is newer; `order_span` is the
    /// `traceparent` of the span handling it ([`ANNOTATION_TRACEPARENT`]).
    pub async fn record(&self, spec: TenantSpec, order_span: Option<String>) -> Result<Recorded> {
        let name = tenant_name(&spec.namespace, &spec.release);
        match self {
            TenantStore::Memory { tenants, .. } => {
                let mut tenants = tenants.lock().expect("the tenant map is never poisoned");
                let existing = tenants.get(&name);
                match merge_order(existing.map(|t| &t.spec), spec) {
                    Err(stale) => Ok(Recorded::Stale(stale)),
                    Ok(merged) => {
                        let next = match existing {
                            Some(t) => TenantResource { spec: merged, ..t.clone() },
                            None => TenantResource::new(name.clone(), self.labels(), merged),
                        };
                        tenants.insert(name, with_order_span(next, order_span));
                        Ok(Recorded::Written)
                    }
                }
            }
            TenantStore::Kube { api, .. } => self.record_in_api(api, &name, spec, order_span).await,
        }
    }

    async fn record_in_api(
        &self,
        api: &Api<TenantResource>,
        name: &str,
        spec: TenantSpec,
        order_span: Option<String>,
    ) -> Result<Recorded> {
        for _ in 0..MAX_CONFLICTS {
            let existing =
                api.get_opt(name).await.map_err(|e| Error::kube(format!("get Tenant {name}"), e))?;
            let written = match existing {
                None => {
                    let tenant = TenantResource::new(name.to_string(), self.labels(), spec.clone());
                    api.create(&PostParams::default(), &with_order_span(tenant, order_span.clone())).await
                }
                Some(existing) => {
                    self.check_owner(&existing)?;
                    let merged = match merge_order(Some(&existing.spec), spec.clone()) {
                        Err(stale) => return Ok(Recorded::Stale(stale)),
                        Ok(merged) => merged,
                    };
                    // The resourceVersion read above makes this write fail if anyone wrote since.
                    let next = TenantResource { spec: merged, ..existing };
                    api.replace(name, &PostParams::default(), &with_order_span(next, order_span.clone()))
                        .await
                }
            };
            match written {
                Ok(_) => return Ok(Recorded::Written),
                // Someone wrote first (409 Conflict or AlreadyExists): read again and decide again.
                Err(kube::Error::Api(status)) if status.code == 409 => continue,
                Err(e) => return Err(Error::kube(format!("write Tenant {name}"), e)),
            }
        }
        Err(Error::Conflict { what: format!("Tenant {name}"), attempts: MAX_CONFLICTS })
    }

    /// A Tenant of another installation (another prefix) is never touched.
    fn check_owner(&self, tenant: &TenantResource) -> Result<()> {
        let owner = tenant.metadata.labels.as_ref().and_then(|l| l.get(LABEL_PREFIX));
        match owner {
            Some(owner) if owner == self.prefix() => Ok(()),
            other => Err(Error::Order(crate::order::OrderError(format!(
                "Tenant {} belongs to the installation {} (its {LABEL_PREFIX} label), not to {}",
                tenant.name(),
                other.map_or("<none>", String::as_str),
                self.prefix()
            )))),
        }
    }

    pub async fn get(&self, name: &str) -> Result<Option<TenantResource>> {
        match self {
            TenantStore::Memory { tenants, .. } => {
                Ok(tenants.lock().expect("the tenant map is never poisoned").get(name).cloned())
            }
            TenantStore::Kube { api, .. } => {
                api.get_opt(name).await.map_err(|e| Error::kube(format!("get Tenant {name}"), e))
            }
        }
    }

    /// This installation's Tenants.
    pub async fn list(&self) -> Result<Vec<TenantResource>> {
        match self {
            TenantStore::Memory { tenants, .. } => {
                Ok(tenants.lock().expect("the tenant map is never poisoned").values().cloned().collect())
            }
            TenantStore::Kube { api, .. } => {
                let list = api
                    .list(&ListParams::default().labels(&self.selector()))
                    .await
                    .map_err(|e| Error::kube("list Tenants", e))?;
                Ok(list.items)
            }
        }
    }

    /// Replaces the status (the status subresource: the spec cannot change by it).
    pub async fn write_status(&self, name: &str, status: &TenantStatus) -> Result<()> {
        match self {
            TenantStore::Memory { tenants, .. } => {
                if let Some(t) = tenants.lock().expect("the tenant map is never poisoned").get_mut(name) {
                    t.status = Some(status.clone());
                }
                Ok(())
            }
            TenantStore::Kube { api, .. } => {
                let patch = Patch::Merge(json!({ "status": status }));
                api.patch_status(name, &PatchParams::default(), &patch)
                    .await
                    .map(drop)
                    .map_err(|e| Error::kube(format!("write the status of Tenant {name}"), e))
            }
        }
    }
}

/// The tenant with its order's span recorded, or the annotation of an earlier order removed.
fn with_order_span(mut tenant: TenantResource, order_span: Option<String>) -> TenantResource {
    let annotations = tenant.metadata.annotations.get_or_insert_with(BTreeMap::new);
    match order_span {
        Some(traceparent) => annotations.insert(ANNOTATION_TRACEPARENT.to_string(), traceparent),
        None => annotations.remove(ANNOTATION_TRACEPARENT),
    };
    if annotations.is_empty() {
        tenant.metadata.annotations = None;
    }
    tenant
}
