//! What helm's release storage says about a release: its newest revision's status and since
//! when, read from the labels of helm's Secrets (`owner=helm`, `name`, `status`, `version`),
//! metadata only, never their data.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};

use crate::error::{Error, Result};
use crate::order::Tenant;

/// The newest revision of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseState {
    pub revision: i64,
    /// `deployed`, `failed`, `pending-install`, `pending-upgrade`, `pending-rollback`, …
    pub status: String,
    /// When that revision was written (helm writes a new Secret for each).
    pub since: Option<DateTime<Utc>>,
}

impl ReleaseState {
    /// A helm operation started and never finished (or is still running).
    pub fn is_pending(&self) -> bool {
        self.status.starts_with("pending-")
    }
}

/// The newest revision of the tenant's release, or `None` if helm has none.
pub async fn release_state(client: &kube::Client, tenant: &Tenant) -> Result<Option<ReleaseState>> {
    let api = Api::<Secret>::namespaced(client.clone(), &tenant.namespace);
    let selector = format!("owner=helm,name={}", tenant.release);
    let list = match api.list_metadata(&ListParams::default().labels(&selector)).await {
        Ok(list) => list,
        // No namespace yet: no release either.
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(None),
        Err(e) => {
            return Err(Error::kube(
                format!("list the helm storage of {}/{}", tenant.namespace, tenant.release),
                e,
            ))
        }
    };
    let newest = list
        .items
        .iter()
        .filter_map(|secret| {
            let labels = secret.metadata.labels.as_ref()?;
            let revision = labels.get("version")?.parse::<i64>().ok()?;
            let status = labels.get("status").cloned().unwrap_or_default();
            let since = labels
                .get("modifiedAt")
                .and_then(|s| s.parse::<i64>().ok())
                .and_then(|s| DateTime::from_timestamp(s, 0))
                .or_else(|| {
                    let created = secret.metadata.creation_timestamp.as_ref()?;
                    DateTime::from_timestamp(created.0.as_second(), 0)
                });
            Some(ReleaseState { revision, status, since })
        })
        .max_by_key(|state| state.revision);
    Ok(newest)
}
