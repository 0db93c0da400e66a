//! The Flux deployer: server-side apply a HelmRelease (and its chart source), then watch its
//! `Ready` condition until helm-controller reports on the generation just applied.

use std::time::Duration;

use kube::api::{Api, DynamicObject};
use kube::runtime::wait::await_condition;
use serde_json::Value;

use super::flux_release::{
    helm_release_for, resource, source_for, FluxSettings, HELM_RELEASE, HELM_REPOSITORY, OCI_REPOSITORY,
};
use super::{Deployed, Deployer, Release};
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::order::Tenant;

/// Reasons helm-controller gives while it is still working; any other `Ready=False` reason on
/// the current generation (InstallFailed, UpgradeFailed, ArtifactFailed, …) is a verdict.
const IN_PROGRESS: [&str; 4] = ["Progressing", "ProgressingWithRetry", "DependencyNotReady", ""];

/// Deploys by applying a `helm.toolkit.fluxcd.io/v2` HelmRelease.
#[derive(Debug, Clone)]
pub struct FluxDeployer {
    pub cluster: Cluster,
    pub settings: FluxSettings,
}

/// What the watched HelmRelease says about the generation that was applied.
#[derive(Debug, PartialEq)]
enum Verdict {
    Ready { revision: Option<i64> },
    Failed { reason: String, message: String },
    Pending(String),
}

impl Deployer for FluxDeployer {
    fn name(&self) -> &'static str {
        "flux"
    }

    async fn deploy(&self, release: &Release) -> Result<Deployed> {
        if let Some(source) = source_for(release, &self.settings) {
            let is_helm_repository = source.types.as_ref().is_some_and(|t| t.kind == HELM_REPOSITORY.2);
            let ar = resource(if is_helm_repository { HELM_REPOSITORY } else { OCI_REPOSITORY });
            self.cluster.apply_dynamic(&source, &ar).await?;
        }
        let ar = resource(HELM_RELEASE);
        let applied = self.cluster.apply_dynamic(&helm_release_for(release, &self.settings), &ar).await?;
        let generation = applied.metadata.generation.unwrap_or(0);
        let tenant = &release.tenant;
        let api =
            Api::<DynamicObject>::namespaced_with(self.cluster.client().clone(), &tenant.namespace, &ar);
        let decided = |o: Option<&DynamicObject>| {
            o.is_some_and(|o| !matches!(verdict(&o.data, generation), Verdict::Pending(_)))
        };
        let name = format!("{}/{}", tenant.namespace, tenant.release);
        let waited = tokio::time::timeout(
            self.settings.timeout,
            await_condition(api.clone(), &tenant.release, decided),
        );
        let object = match waited.await {
            Ok(Ok(object)) => object,
            Ok(Err(e)) => {
                return Err(Error::FluxTimeout {
                    name,
                    waited: Duration::ZERO,
                    last: format!("watch failed: {e}"),
                })
            }
            Err(_) => {
                let last = api.get_opt(&tenant.release).await.ok().flatten();
                let last = match last.map(|o| verdict(&o.data, generation)) {
                    Some(Verdict::Pending(what)) => what,
                    other => format!("{other:?}"),
                };
                return Err(Error::FluxTimeout { name, waited: self.settings.timeout, last });
            }
        };
        match object.map(|o| verdict(&o.data, generation)) {
            Some(Verdict::Ready { revision }) => Ok(Deployed { revision }),
            Some(Verdict::Failed { reason, message }) => Err(Error::FluxFailed { name, reason, message }),
            other => Err(Error::FluxTimeout { name, waited: Duration::ZERO, last: format!("{other:?}") }),
        }
    }

    /// Whether the HelmRelease exists (a resync re-applies one deleted by hand).
    async fn is_present(&self, tenant: &Tenant) -> Result<Option<bool>> {
        let ar = resource(HELM_RELEASE);
        let api =
            Api::<DynamicObject>::namespaced_with(self.cluster.client().clone(), &tenant.namespace, &ar);
        let found = api.get_opt(&tenant.release).await.map_err(|e| {
            Error::kube(format!("get HelmRelease {}/{}", tenant.namespace, tenant.release), e)
        })?;
        Ok(Some(found.is_some()))
    }

    async fn uninstall(&self, tenant: &Tenant) -> Result<()> {
        // helm-controller's finalizer uninstalls the Helm release when the HelmRelease goes.
        self.cluster.delete_dynamic(&resource(HELM_RELEASE), &tenant.namespace, &tenant.release).await?;
        for kind in [HELM_REPOSITORY, OCI_REPOSITORY] {
            self.cluster.delete_dynamic(&resource(kind), &tenant.namespace, &tenant.release).await?;
        }
        Ok(())
    }
}

/// Reads `status.conditions[type=Ready]` for `generation` (its `observedGeneration`, else the
/// status's): True → ready; False with a failure reason → failed; anything else → pending.
fn verdict(data: &Value, generation: i64) -> Verdict {
    let status = &data["status"];
    let Some(ready) = status["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
    else {
        return Verdict::Pending("no Ready condition yet".into());
    };
    let observed = ready["observedGeneration"].as_i64().or_else(|| status["observedGeneration"].as_i64());
    let text = |k: &str| ready[k].as_str().unwrap_or_default().to_string();
    if observed.unwrap_or(0) < generation {
        return Verdict::Pending(format!("generation {generation} not observed yet"));
    }
    match ready["status"].as_str() {
        Some("True") => Verdict::Ready { revision: revision_of(status) },
        Some("False") if !IN_PROGRESS.contains(&text("reason").as_str()) => {
            Verdict::Failed { reason: text("reason"), message: text("message") }
        }
        _ => Verdict::Pending(format!("Ready={} {}: {}", text("status"), text("reason"), text("message"))),
    }
}

/// The Helm revision helm-controller recorded for its latest release.
fn revision_of(status: &Value) -> Option<i64> {
    status["history"].as_array().and_then(|h| h.first()).and_then(|s| s["version"].as_i64())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn with_ready(status: &str, reason: &str, observed: i64) -> Value {
        json!({"status": {"observedGeneration": observed, "history": [{"version": 4}],
               "conditions": [{"type": "Ready", "status": status, "reason": reason, "message": "m"}]}})
    }

    #[test]
    fn ready_counts_only_for_the_applied_generation() {
        assert_eq!(
            verdict(&with_ready("True", "InstallSucceeded", 2), 2),
            Verdict::Ready { revision: Some(4) }
        );
        assert!(matches!(verdict(&with_ready("True", "InstallSucceeded", 1), 2), Verdict::Pending(_)));
        assert!(matches!(verdict(&json!({}), 1), Verdict::Pending(_)));
    }

    #[test]
    fn a_failure_reason_is_a_verdict_and_progress_is_not() {
        assert_eq!(
            verdict(&with_ready("False", "InstallFailed", 1), 1),
            Verdict::Failed { reason: "InstallFailed".into(), message: "m".into() }
        );
        assert!(matches!(verdict(&with_ready("False", "Progressing", 1), 1), Verdict::Pending(_)));
        assert!(matches!(verdict(&with_ready("Unknown", "Progressing", 1), 1), Verdict::Pending(_)));
    }
}
