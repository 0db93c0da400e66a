//! The producer's settings: the runtime's common flags plus the portal, API and feed ones.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

/// The port of `HTTP_ADDR` when it is not set (DESIGN.md §6).
pub const DEFAULT_HTTP_PORT: u16 = 8080;

/// Settings of the producer, from flags or environment variables.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    #[command(flatten)]
    pub common: eda_common::CommonArgs,

    /// Bearer tokens the API accepts, comma-separated (`PRODUCER_API_TOKENS`; default none).
    #[arg(long = "api-tokens", env = "PRODUCER_API_TOKENS", hide_env_values = true)]
    pub api_tokens: Option<SecretString>,

    /// Portal (and API) login as `user:<argon2 PHC hash>` (`PRODUCER_BASIC_AUTH`; default none).
    /// Make the hash with `producer hash-password`.
    #[arg(long = "basic-auth", env = "PRODUCER_BASIC_AUTH", hide_env_values = true)]
    pub basic_auth: Option<SecretString>,

    /// Serve without any authentication (`PRODUCER_INSECURE_NO_AUTH`; default false). Only for
    /// local development: without it the producer refuses to start when no credential is set.
    #[arg(long = "insecure-no-auth", env = "PRODUCER_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,

    /// Sign-in with an OpenID provider and the portal's session cookie.
    #[command(flatten)]
    pub sign_in: crate::auth::settings::SignInArgs,

    /// The product catalog, YAML (`PROVISIONER_CATALOG`; default the built-in catalog).
    #[arg(long = "catalog", env = "PROVISIONER_CATALOG")]
    pub catalog: Option<PathBuf>,

    /// `Metadata.origing` of the events the producer builds (`PRODUCER_ORIGIN`; default `Cloud`).
    #[arg(long = "origin", env = "PRODUCER_ORIGIN", default_value = "Cloud")]
    pub origin: String,

    /// Longest wait for a connection and a publisher confirm before answering 503
    /// (`PRODUCER_PUBLISH_TIMEOUT`; default 5s).
    #[arg(long = "publish-timeout", env = "PRODUCER_PUBLISH_TIMEOUT", default_value = "5s",
          value_parser = eda_common::config::parse_duration)]
    pub publish_timeout: Duration,

    /// Traces kept in the status cache, least recently used evicted first
    /// (`PRODUCER_TRACE_CACHE_SIZE`; default 10000).
    #[arg(long = "trace-cache-size", env = "PRODUCER_TRACE_CACHE_SIZE", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub trace_cache_size: u32,

    /// Events kept per trace, the oldest dropped first (`PRODUCER_TRACE_EVENTS_MAX`; default 200).
    #[arg(long = "trace-events-max", env = "PRODUCER_TRACE_EVENTS_MAX", default_value_t = 200,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub trace_events_max: u32,

    /// The ledger (the dbwriter's database) through a read-only role, for the tenants page and
    /// timelines the cache no longer holds (`PRODUCER_DATABASE_URL`; default none: those routes
    /// answer 503). The role joins `eda_ledger_reader` (docs/producer.md).
    #[arg(long = "database-url", env = "PRODUCER_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,

    /// Connections to the ledger at most (`PRODUCER_DATABASE_POOL_SIZE`; default 8).
    #[arg(long = "database-pool-size", env = "PRODUCER_DATABASE_POOL_SIZE", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub database_pool_size: u32,
}

impl Config {
    /// Defaults as if no flag and no variable were given, on `prefix`; what tests start from.
    pub fn for_prefix(prefix: &str) -> Self {
        Config {
            common: eda_common::CommonArgs::for_prefix(prefix),
            api_tokens: None,
            basic_auth: None,
            insecure_no_auth: false,
            sign_in: crate::auth::settings::SignInArgs::default(),
            catalog: None,
            origin: "Cloud".into(),
            publish_timeout: Duration::from_secs(5),
            trace_cache_size: 10_000,
            trace_events_max: 200,
            database_url: None,
            database_pool_size: 8,
        }
    }
}
