//! Deployers: how a tenant's release gets installed and removed. One trait, three
//! implementations: the helm binary, a Flux HelmRelease, and the plan that only logs.

mod flux;
mod flux_release;
mod helm;
mod helm_args;
mod helm_classify;
mod plan;
mod storage;

use std::future::Future;

use serde_json::Value;

pub use flux::FluxDeployer;
pub use flux_release::{helm_release_for, source_for, FluxSettings, HELM_RELEASE};
pub use helm::HelmDeployer;
pub use helm_args::{helm_args_for, rollback_args_for, uninstall_args_for, HelmSettings};
pub use helm_classify::classify_stderr;
pub use plan::{log_object, PlanDeployer, PLANNED_VALUES_FILE};
pub use storage::{release_state, ReleaseState};

use crate::catalog::{Catalog, Chart};
use crate::error::Result;
use crate::order::{Order, Tenant};
use crate::values::release_values_for;

/// What to install: a tenant's release, its chart from the catalog, and its values.
#[derive(Debug, Clone)]
pub struct Release {
    pub tenant: Tenant,
    pub chart: Chart,
    pub values: Value,
}

impl Release {
    /// The release an order asks for; the order was validated against this catalog.
    pub fn for_order(order: &Order, catalog: &Catalog) -> Option<Release> {
        let product = catalog.products.get(&order.tenant.product)?;
        Some(Release {
            tenant: order.tenant.clone(),
            chart: product.chart.clone(),
            values: release_values_for(order, catalog),
        })
    }
}

/// A release that is in place and ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// Helm's revision (the HelmRelease's last attempted revision with Flux), when known.
    pub revision: Option<i64>,
}

/// Installs and removes releases. Both operations are idempotent: a repeated deploy
/// upgrades to the same state, an uninstall of an absent release succeeds.
pub trait Deployer: Send + Sync + 'static {
    /// `helm` or `flux`, for logs.
    fn name(&self) -> &'static str;

    /// Installs or upgrades, and returns only once the release is ready.
    fn deploy(&self, release: &Release) -> impl Future<Output = Result<Deployed>> + Send;

    /// Removes the release (and waits for its resources to go).
    fn uninstall(&self, tenant: &Tenant) -> impl Future<Output = Result<()>> + Send;

    /// Whether releases live in helm's storage, whose `pending-*` states the reconciler must
    /// recover after a provisioner died mid-helm (not for Flux, whose controller owns them).
    fn uses_helm_storage(&self) -> bool {
        false
    }

    /// Whether the release still exists where the deployer keeps it, for deployers whose
    /// state is not helm's storage (a Flux HelmRelease); `None`: the deployer cannot tell.
    fn is_present(&self, tenant: &Tenant) -> impl Future<Output = Result<Option<bool>>> + Send {
        let _ = tenant;
        async { Ok(None) }
    }

    /// Gets a release out of a `pending-*` state nobody is working on any more, so that the
    /// next deploy is not refused with "another operation is in progress".
    fn recover(&self, tenant: &Tenant, state: &ReleaseState) -> impl Future<Output = Result<()>> + Send {
        let _ = (tenant, state);
        async { Ok(()) }
    }
}

/// Whether a name may become a command-line argument: it was validated as a DNS-1123 label,
/// but a second look costs nothing where a mistake would turn a value into a helm flag.
pub(crate) fn safe_argument(value: &str) -> bool {
    !value.is_empty()
        && !value.starts_with('-')
        && eda_common::client_name::validate_dns1123_label("", value).is_ok()
}
