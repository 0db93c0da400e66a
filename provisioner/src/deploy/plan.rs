//! The plan deployer (`--mode plan`): computes what the real deployer would run or apply and
//! logs it as JSON lines; it touches nothing.

use std::path::Path;

use super::flux_release::{helm_release_for, source_for};
use super::helm_args::{helm_args_for, uninstall_args_for};
use super::{Deployed, Deployer, FluxSettings, HelmSettings, Release};
use crate::error::Result;
use crate::order::Tenant;

/// Stands in the values file's path in a planned helm command line.
pub const PLANNED_VALUES_FILE: &str = "<values.yaml>";

/// Which deployer is being planned.
#[derive(Debug, Clone)]
pub enum PlanDeployer {
    Helm(HelmSettings),
    Flux(FluxSettings),
}

impl Deployer for PlanDeployer {
    fn name(&self) -> &'static str {
        match self {
            PlanDeployer::Helm(_) => "plan-helm",
            PlanDeployer::Flux(_) => "plan-flux",
        }
    }

    async fn deploy(&self, release: &Release) -> Result<Deployed> {
        match self {
            PlanDeployer::Helm(settings) => {
                let argv = helm_args_for(release, settings, Path::new(PLANNED_VALUES_FILE));
                let values = serde_json::to_string(&release.values).unwrap_or_default();
                tracing::info!(plan = "helm", helm = %settings.bin.display(), argv = ?argv, values = %values,
                    "plan: would run helm");
            }
            PlanDeployer::Flux(settings) => {
                if let Some(source) = source_for(release, settings) {
                    log_object(&source);
                }
                log_object(&helm_release_for(release, settings));
            }
        }
        Ok(Deployed { revision: None })
    }

    async fn uninstall(&self, tenant: &Tenant) -> Result<()> {
        match self {
            PlanDeployer::Helm(settings) => {
                let argv = uninstall_args_for(tenant, settings);
                tracing::info!(plan = "helm", argv = ?argv, "plan: would run helm");
            }
            PlanDeployer::Flux(_) => {
                tracing::info!(plan = "delete", kind = "HelmRelease", namespace = %tenant.namespace,
                    name = %tenant.release, "plan: would delete");
            }
        }
        Ok(())
    }
}

/// One JSON line per object: its kind and the full object it would apply.
pub fn log_object(object: &impl serde::Serialize) {
    let json = serde_json::to_value(object).unwrap_or_default();
    let kind = json["kind"].as_str().unwrap_or_default().to_string();
    tracing::info!(plan = "apply", kind = %kind, object = %json, "plan: would apply");
}
