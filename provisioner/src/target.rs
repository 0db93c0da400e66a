//! Where the reconciler's work lands, decided once at start from `--mode`: a cluster, through
//! the configured deployer (`apply`), or a plan that computes the same objects and commands
//! and only logs them (`plan`). Plan mode is this one value; nothing else encodes it.

use anyhow::Context;

use crate::cluster::Cluster;
use crate::config::{Config, DeployerKind, Mode};
use crate::database::TenantDatabases;
use crate::deploy::{
    Deployed, Deployer, FluxDeployer, FluxSettings, HelmDeployer, HelmSettings, PlanDeployer, Release,
    ReleaseState,
};
use crate::error::Result;
use crate::objects::{Grant, GRANT_NAME, READER_GRANT_NAME};
use crate::order::Tenant;
use crate::tenants::TenantStore;

/// Apply or plan. One per process, so the size of `Apply` costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Target {
    /// `--mode apply`: Tenants are resources on the cluster, a Lease-led controller reconciles
    /// them, and releases are deployed for real.
    Apply { cluster: Cluster, deployer: ClusterDeployer },
    /// `--mode plan`: no cluster; Tenants live in memory and each order is reconciled at once,
    /// on paper.
    Plan(PlanDeployer),
}

/// The deployer of `--mode apply` (`--deployer`).
pub enum ClusterDeployer {
    Helm(HelmDeployer),
    Flux(FluxDeployer),
}

impl Target {
    /// The target `config` asks for; in apply mode, with a kube client for its cluster.
    pub async fn from_config(config: &Config, databases: &TenantDatabases) -> anyhow::Result<Target> {
        let helm = HelmSettings {
            bin: config.helm_bin.clone(),
            timeout: config.helm_timeout,
            kubeconfig: config.kubeconfig.clone(),
            chart_root: config.chart_root.clone(),
            kill_grace: config.helm_kill_grace,
        };
        let flux = FluxSettings {
            git_source_name: config.flux_source_name.clone(),
            git_source_namespace: config.flux_source_namespace.clone(),
            interval: config.flux_interval.clone(),
            timeout: config.flux_timeout,
        };
        if config.mode == Mode::Plan {
            return Ok(Target::Plan(match config.deployer {
                DeployerKind::Helm => PlanDeployer::Helm(helm),
                DeployerKind::Flux => PlanDeployer::Flux(flux),
            }));
        }
        let cluster = Cluster::new(kube_client(config).await?, grants(config))
            .with_database_egress(databases.egress().cloned());
        let deployer = match config.deployer {
            DeployerKind::Helm => ClusterDeployer::Helm(HelmDeployer { settings: helm }),
            DeployerKind::Flux => {
                ClusterDeployer::Flux(FluxDeployer { cluster: cluster.clone(), settings: flux })
            }
        };
        Ok(Target::Apply { cluster, deployer })
    }

    /// The cluster, in apply mode.
    pub fn cluster(&self) -> Option<&Cluster> {
        match self {
            Target::Apply { cluster, .. } => Some(cluster),
            Target::Plan(_) => None,
        }
    }

    pub fn is_plan(&self) -> bool {
        matches!(self, Target::Plan(_))
    }

    /// Where Tenants are kept: on the cluster, or in memory for a plan.
    pub fn store(&self, prefix: &str) -> TenantStore {
        match self {
            Target::Apply { cluster, .. } => TenantStore::kube(cluster.client().clone(), prefix),
            Target::Plan(_) => TenantStore::memory(prefix),
        }
    }
}

/// `$body` with `$d` bound to the deployer the target holds, whichever it is.
macro_rules! with_deployer {
    ($target:expr, $d:ident => $body:expr) => {
        match $target {
            Target::Apply { deployer: ClusterDeployer::Helm($d), .. } => $body,
            Target::Apply { deployer: ClusterDeployer::Flux($d), .. } => $body,
            Target::Plan($d) => $body,
        }
    };
}

/// The target deploys through whichever deployer it holds.
impl Deployer for Target {
    fn name(&self) -> &'static str {
        with_deployer!(self, d => d.name())
    }

    async fn deploy(&self, release: &Release) -> Result<Deployed> {
        with_deployer!(self, d => d.deploy(release).await)
    }

    async fn uninstall(&self, tenant: &Tenant) -> Result<()> {
        with_deployer!(self, d => d.uninstall(tenant).await)
    }

    fn uses_helm_storage(&self) -> bool {
        with_deployer!(self, d => d.uses_helm_storage())
    }

    async fn is_present(&self, tenant: &Tenant) -> Result<Option<bool>> {
        with_deployer!(self, d => d.is_present(tenant).await)
    }

    async fn recover(&self, tenant: &Tenant, state: &ReleaseState) -> Result<()> {
        with_deployer!(self, d => d.recover(tenant, state).await)
    }
}

/// The RoleBindings of each tenant namespace: the provisioner's own (with `--subject`), then
/// the exporter's (with `--reader-subject`).
fn grants(config: &Config) -> Vec<Grant> {
    let own = config.subject.clone().map(|subject| Grant {
        name: GRANT_NAME.into(),
        role: config.tenant_role.clone(),
        subject,
    });
    let reader = config.reader_subject.clone().map(|subject| Grant {
        name: READER_GRANT_NAME.into(),
        role: config.reader_role.clone(),
        subject,
    });
    own.into_iter().chain(reader).collect()
}

/// A kube client from `--kubeconfig`, else kube's inference (in-cluster, then ~/.kube/config).
async fn kube_client(config: &Config) -> anyhow::Result<kube::Client> {
    // kube and lapin each enable a rustls provider; rustls cannot choose, so pick ring here.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        rustls::crypto::ring::default_provider().install_default().ok();
    }
    let kube_config = match &config.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("failed to read the kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .with_context(|| format!("failed to use the kubeconfig {}", path.display()))?
        }
        None => kube::Config::infer().await.context("failed to find a Kubernetes configuration")?,
    };
    kube::Client::try_from(kube_config).context("failed to build the Kubernetes client")
}
