//! `consumer topology check`: which prefix to compare with what eda needs, and how to look.

use clap::{Args, Subcommand};
use eda_common::CommonArgs;
use secrecy::SecretString;

#[derive(Args, Debug, Clone)]
pub struct TopologyCommand {
    #[command(subcommand)]
    pub action: TopologyAction,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What to do with the broker's topology.
#[derive(Subcommand, Debug, Clone)]
pub enum TopologyAction {
    /// Compare the broker's exchanges, queues and policies with what eda needs for `EDA_PREFIX`;
    /// print the differences with their consequences and fixes; exit 1 when one breaks a guarantee.
    Check(CheckArgs),
}

#[derive(Args, Debug, Clone, Default)]
pub struct CheckArgs {
    /// RabbitMQ management API, e.g. `http://user:pass@rabbitmq:15672` (`EDA_MANAGEMENT_URL`;
    /// credentials default to AMQP_URL's). Without it only what AMQP shows is checked.
    #[arg(long, env = "EDA_MANAGEMENT_URL", hide_env_values = true)]
    pub management_url: Option<SecretString>,

    /// A consuming service whose queue and retry queues to check (repeatable; with the
    /// management API every `<prefix>.<name>` queue is checked anyway).
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
}
