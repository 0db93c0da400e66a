//! The provisioner's settings: flags with environment fallbacks, parsed once.

use std::path::PathBuf;
use std::time::Duration;

use eda_common::config::parse_duration;

/// The default `HTTP_ADDR` port of the provisioner (DESIGN.md §6).
pub const DEFAULT_HTTP_PORT: u16 = 9093;

/// Apply for real, or only plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Apply objects and deploy releases.
    Apply,
    /// Compute and log every object and command; touch no cluster; publish `dry_run: true`.
    Plan,
}

/// How releases are deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeployerKind {
    /// Run the helm binary (`upgrade --install --wait`).
    Helm,
    /// Apply a Flux HelmRelease and wait for its Ready condition.
    Flux,
}

/// Settings of the provisioner, from flags or environment variables.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "provisioner",
    version,
    about = "Turns purchases into Kubernetes namespaces and Helm releases"
)]
pub struct Config {
    #[command(flatten)]
    pub common: eda_common::CommonArgs,

    /// `apply` or `plan` (`PROVISIONER_MODE`; default apply). Plan needs no cluster.
    #[arg(long, env = "PROVISIONER_MODE", value_enum, default_value = "apply")]
    pub mode: Mode,

    /// `helm` or `flux` (`PROVISIONER_DEPLOYER`; default helm).
    #[arg(long, env = "PROVISIONER_DEPLOYER", value_enum, default_value = "helm")]
    pub deployer: DeployerKind,

    /// Catalog YAML (`PROVISIONER_CATALOG`; default the built-in catalog/default.yaml).
    #[arg(long, env = "PROVISIONER_CATALOG")]
    pub catalog: Option<PathBuf>,

    /// Where the catalog's local chart paths resolve (`PROVISIONER_CHART_ROOT`; default `.`).
    #[arg(long, env = "PROVISIONER_CHART_ROOT", default_value = ".")]
    pub chart_root: PathBuf,

    /// The helm executable (`PROVISIONER_HELM_BIN`; default `helm` on the PATH).
    #[arg(long, env = "PROVISIONER_HELM_BIN", default_value = "helm")]
    pub helm_bin: PathBuf,

    /// `--timeout` of helm's `--wait` (`PROVISIONER_HELM_TIMEOUT`; default 5m).
    #[arg(long, env = "PROVISIONER_HELM_TIMEOUT", default_value = "5m", value_parser = parse_duration)]
    pub helm_timeout: Duration,

    /// Orders handled at once; the same release is never handled twice at once
    /// (`PROVISIONER_CONCURRENCY`; default 4).
    #[arg(long, env = "PROVISIONER_CONCURRENCY", default_value_t = 4)]
    pub concurrency: usize,

    /// kubeconfig for the provisioner and helm (`KUBECONFIG`; default: in-cluster or ~/.kube/config).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,

    /// GitRepository holding local chart paths, for the flux deployer
    /// (`PROVISIONER_FLUX_SOURCE_NAME`; default eda-charts).
    #[arg(long, env = "PROVISIONER_FLUX_SOURCE_NAME", default_value = "eda-charts")]
    pub flux_source_name: String,

    /// Namespace of that GitRepository (`PROVISIONER_FLUX_SOURCE_NAMESPACE`; default flux-system).
    #[arg(long, env = "PROVISIONER_FLUX_SOURCE_NAMESPACE", default_value = "flux-system")]
    pub flux_source_namespace: String,

    /// Reconcile interval of the Flux objects, a Go duration (`PROVISIONER_FLUX_INTERVAL`; default 10m).
    #[arg(long, env = "PROVISIONER_FLUX_INTERVAL", default_value = "10m")]
    pub flux_interval: String,

    /// How long to wait for a HelmRelease to be Ready before retrying (`PROVISIONER_FLUX_TIMEOUT`; default 5m).
    #[arg(long, env = "PROVISIONER_FLUX_TIMEOUT", default_value = "5m", value_parser = parse_duration)]
    pub flux_timeout: Duration,

    /// Extra time helm gets beyond `--helm-timeout` before it is killed; a release pending
    /// longer than both is taken as abandoned and recovered (`PROVISIONER_HELM_KILL_GRACE`; default 60s).
    #[arg(long, env = "PROVISIONER_HELM_KILL_GRACE", default_value = "60s", value_parser = parse_duration)]
    pub helm_kill_grace: Duration,

    /// How often the reconciler checks a settled tenant for drift (`PROVISIONER_RESYNC_INTERVAL`; default 10m).
    #[arg(long, env = "PROVISIONER_RESYNC_INTERVAL", default_value = "10m", value_parser = parse_duration)]
    pub resync_interval: Duration,

    /// Namespace of the reconciler's Lease, `<EDA_PREFIX>-provisioner` (`PROVISIONER_LEASE_NAMESPACE`;
    /// default `default`; the chart sets its release namespace).
    #[arg(long, env = "PROVISIONER_LEASE_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,

    /// How long the Lease holds without renewal (`PROVISIONER_LEASE_DURATION`; default 15s).
    #[arg(long, env = "PROVISIONER_LEASE_DURATION", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,

    /// This replica's name in the Lease (`PROVISIONER_IDENTITY`; default the host name, the
    /// process id and a random suffix).
    #[arg(long, env = "PROVISIONER_IDENTITY")]
    pub identity: Option<String>,

    /// The ClusterRole the provisioner binds to itself in each tenant namespace
    /// (`PROVISIONER_TENANT_ROLE`; default eda-tenant-deployer; the chart sets `<release>-tenant-deployer`).
    #[arg(long, env = "PROVISIONER_TENANT_ROLE", default_value = "eda-tenant-deployer")]
    pub tenant_role: String,

    /// The provisioner's own identity, bound to the tenant role in each tenant namespace:
    /// `system:serviceaccount:<ns>:<name>` or a user name (`PROVISIONER_SUBJECT`; the chart sets
    /// its ServiceAccount). Unset: no RoleBinding is written, the identity's own rights are used.
    #[arg(long, env = "PROVISIONER_SUBJECT")]
    pub subject: Option<String>,

    /// The ClusterRole bound to the exporter in each tenant namespace (`PROVISIONER_READER_ROLE`;
    /// default eda-tenant-reader; the chart sets `<release>-tenant-reader`).
    #[arg(long, env = "PROVISIONER_READER_ROLE", default_value = "eda-tenant-reader")]
    pub reader_role: String,

    /// The exporter's identity, bound to the reader role in each tenant namespace, where it
    /// reads pods (`PROVISIONER_READER_SUBJECT`; the chart sets it when the exporter is enabled).
    #[arg(long, env = "PROVISIONER_READER_SUBJECT")]
    pub reader_subject: Option<String>,

    #[command(flatten)]
    pub tenant_database: crate::database::TenantDatabaseArgs,

    /// How long a publish may wait for the broker's confirm (`PROVISIONER_PUBLISH_TIMEOUT`; default 10s).
    #[arg(long, env = "PROVISIONER_PUBLISH_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub publish_timeout: Duration,
}

impl Config {
    /// Defaults as if no flag and no variable were given, on a prefix; what tests start from.
    pub fn for_prefix(prefix: &str) -> Self {
        Config {
            common: eda_common::CommonArgs::for_prefix(prefix),
            mode: Mode::Apply,
            deployer: DeployerKind::Helm,
            catalog: None,
            chart_root: PathBuf::from("."),
            helm_bin: PathBuf::from("helm"),
            helm_timeout: Duration::from_secs(300),
            concurrency: 4,
            kubeconfig: None,
            flux_source_name: "eda-charts".into(),
            flux_source_namespace: "flux-system".into(),
            flux_interval: "10m".into(),
            flux_timeout: Duration::from_secs(300),
            publish_timeout: Duration::from_secs(10),
            helm_kill_grace: Duration::from_secs(60),
            resync_interval: Duration::from_secs(600),
            lease_namespace: "default".into(),
            lease_duration: Duration::from_secs(15),
            identity: None,
            tenant_role: "eda-tenant-deployer".into(),
            subject: None,
            reader_role: "eda-tenant-reader".into(),
            reader_subject: None,
            tenant_database: crate::database::TenantDatabaseArgs::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn flags_parse_and_defaults_match_for_prefix() {
        let parsed = Config::try_parse_from(["provisioner", "--mode", "plan", "--deployer", "flux"]).unwrap();
        assert_eq!(parsed.mode, Mode::Plan);
        assert_eq!(parsed.deployer, DeployerKind::Flux);
        let defaults = Config::try_parse_from(["provisioner", "--helm-timeout", "90s"]).unwrap();
        assert_eq!(defaults.helm_timeout, Duration::from_secs(90));
        assert_eq!(defaults.concurrency, Config::for_prefix("eda").concurrency);
        assert!(Config::try_parse_from(["provisioner", "--mode", "yolo"]).is_err());
    }
}
