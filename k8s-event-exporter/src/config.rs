//! Settings of the k8s-event-exporter, from flags or `EXPORTER_*` environment variables.

use std::time::Duration;

use eda_common::config::parse_duration;

/// The HTTP port of `/healthz`, `/readyz`, `/metrics` when `HTTP_ADDR` is unset.
pub const DEFAULT_HTTP_PORT: u16 = 9094;

/// Settings of the k8s-event-exporter, from flags or environment variables.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "k8s-event-exporter",
    version,
    about = "Publishes Kubernetes events tagged with the purchase's trace id"
)]
pub struct Config {
    #[command(flatten)]
    pub common: eda_common::CommonArgs,

    /// Label selector of the namespaces watched (`EXPORTER_NAMESPACE_SELECTOR`;
    /// default `app.kubernetes.io/managed-by=eda-provisioner`).
    #[arg(
        long,
        env = "EXPORTER_NAMESPACE_SELECTOR",
        default_value = "app.kubernetes.io/managed-by=eda-provisioner"
    )]
    pub namespace_selector: String,

    /// Watch every namespace, ignoring the selector (`EXPORTER_ALL_NAMESPACES`; default false).
    #[arg(long, env = "EXPORTER_ALL_NAMESPACES")]
    pub all_namespaces: bool,

    /// Publish events of namespaces without `eda.io/trace-id`, with a fresh trace id and
    /// `untraced: true` (`EXPORTER_INCLUDE_UNTRACED`; default false).
    #[arg(long, env = "EXPORTER_INCLUDE_UNTRACED")]
    pub include_untraced: bool,

    /// Publish events that last happened before the exporter started, on a first start
    /// without a watermark (`EXPORTER_REPLAY`; default false).
    #[arg(long, env = "EXPORTER_REPLAY")]
    pub replay: bool,

    /// Event types to publish, e.g. `Warning,Normal` (`EXPORTER_TYPES`; default all).
    #[arg(long, env = "EXPORTER_TYPES", value_delimiter = ',')]
    pub types: Vec<String>,

    /// Reasons to publish, case-insensitive (`EXPORTER_REASONS`; default all).
    #[arg(long, env = "EXPORTER_REASONS", value_delimiter = ',')]
    pub reasons: Vec<String>,

    /// Reasons never to publish, case-insensitive (`EXPORTER_EXCLUDE_REASONS`; default none).
    #[arg(long, env = "EXPORTER_EXCLUDE_REASONS", value_delimiter = ',')]
    pub exclude_reasons: Vec<String>,

    /// Take a coordination.k8s.io Lease so only one replica publishes (`EXPORTER_LEADER_ELECTION`).
    #[arg(long, env = "EXPORTER_LEADER_ELECTION")]
    pub leader_election: bool,

    /// Name of the Lease (`EXPORTER_LEASE_NAME`; default `k8s-event-exporter`).
    #[arg(long, env = "EXPORTER_LEASE_NAME", default_value = "k8s-event-exporter")]
    pub lease_name: String,

    /// Namespace of the Lease (`EXPORTER_LEASE_NAMESPACE`; default the state namespace).
    #[arg(long, env = "EXPORTER_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,

    /// How long a Lease holds without renewal (`EXPORTER_LEASE_DURATION`; default 15s).
    #[arg(long, env = "EXPORTER_LEASE_DURATION", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,

    /// How often the leader renews, and a follower retries (`EXPORTER_LEASE_RENEW`; default 5s).
    #[arg(long, env = "EXPORTER_LEASE_RENEW", default_value = "5s", value_parser = parse_duration)]
    pub lease_renew: Duration,

    /// Identity in the Lease (`EXPORTER_IDENTITY`; default `<hostname>-<random>`).
    #[arg(long, env = "EXPORTER_IDENTITY")]
    pub identity: Option<String>,

    /// ConfigMap holding the watermark (`EXPORTER_STATE_CONFIGMAP`; default
    /// `k8s-event-exporter-state`; the chart sets `<release>-state`).
    #[arg(long, env = "EXPORTER_STATE_CONFIGMAP", default_value = "k8s-event-exporter-state")]
    pub state_configmap: String,

    /// Namespace of the state ConfigMap (`EXPORTER_STATE_NAMESPACE`; default `POD_NAMESPACE`,
    /// else `default`).
    #[arg(long, env = "EXPORTER_STATE_NAMESPACE")]
    pub state_namespace: Option<String>,

    /// Longest time between two watermark writes (`EXPORTER_CHECKPOINT_INTERVAL`; default 2s).
    #[arg(long, env = "EXPORTER_CHECKPOINT_INTERVAL", default_value = "2s", value_parser = parse_duration)]
    pub checkpoint_interval: Duration,

    /// Events buffered between the watch and the publisher (`EXPORTER_BUFFER`; default 1000).
    #[arg(long, env = "EXPORTER_BUFFER", default_value_t = 1000)]
    pub buffer: usize,

    /// Event uids remembered for deduplication (`EXPORTER_DEDUPE_CAPACITY`; default 50000).
    #[arg(long, env = "EXPORTER_DEDUPE_CAPACITY", default_value_t = 50_000)]
    pub dedupe_capacity: usize,

    /// Wait for a broker connection and confirm before retrying (`EXPORTER_PUBLISH_TIMEOUT`; default 10s).
    #[arg(long, env = "EXPORTER_PUBLISH_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub publish_timeout: Duration,

    /// Look up a Pod's own `trace_id` annotation for events about Pods (`EXPORTER_POD_TRACE_IDS`;
    /// default true).
    #[arg(long, env = "EXPORTER_POD_TRACE_IDS", default_value_t = true, action = clap::ArgAction::Set)]
    pub pod_trace_ids: bool,
}

impl Config {
    /// Defaults as if no flag and no variable were given, for a prefix; what tests start from.
    pub fn for_prefix(prefix: &str) -> Self {
        use clap::Parser;
        let mut config = Config::parse_from(["k8s-event-exporter"]);
        config.common = eda_common::CommonArgs::for_prefix(prefix);
        config
    }

    /// `--state-namespace`, else `POD_NAMESPACE`, else `default`.
    pub fn state_namespace(&self) -> String {
        self.state_namespace
            .clone()
            .or_else(|| std::env::var("POD_NAMESPACE").ok())
            .filter(|ns| !ns.is_empty())
            .unwrap_or_else(|| "default".into())
    }

    /// `--lease-namespace`, else the state namespace.
    pub fn lease_namespace(&self) -> String {
        self.lease_namespace.clone().unwrap_or_else(|| self.state_namespace())
    }

    /// `--identity`, else `<hostname>-<8 hex>`.
    pub fn identity(&self) -> String {
        self.identity.clone().unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "k8s-event-exporter".into());
            format!("{host}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn defaults_follow_the_design() {
        let c = Config::parse_from(["x"]);
        assert_eq!(c.namespace_selector, "app.kubernetes.io/managed-by=eda-provisioner");
        assert_eq!(c.lease_duration, Duration::from_secs(15));
        assert_eq!(c.lease_renew, Duration::from_secs(5));
        assert!(!c.leader_election && !c.replay && !c.include_untraced && c.pod_trace_ids);
        assert_eq!(c.common.http_addr_or(DEFAULT_HTTP_PORT).port(), 9094);
    }

    #[test]
    fn lists_are_comma_separated() {
        let c = Config::parse_from(["x", "--types", "Warning,Normal", "--exclude-reasons", "Pulled"]);
        assert_eq!(c.types, ["Warning", "Normal"]);
        assert_eq!(c.exclude_reasons, ["Pulled"]);
        let c = Config::parse_from(["x", "--pod-trace-ids", "false"]);
        assert!(!c.pod_trace_ids);
    }
}
