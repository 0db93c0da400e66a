//! A way the broker's topology differs from what eda needs, what that means for eda's
//! guarantees, and the command that fixes it. Pure: services (from a refused declaration) and
//! the preflight (from the management API) build the same values.

use super::plan::Role;
use super::policy::{events_policy, parking_lot_policy, policy_command, retry_policy, service_queues_policy};

/// What differs. Argument names are the broker's (`x-…` arguments or policy keys).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Found {
    /// An exchange of another type.
    ExchangeType { expected: String, actual: String },
    /// A queue of another type (`classic` where `quorum` was asked, say).
    QueueType { expected: String, actual: String },
    /// Not durable: it, and for a queue what it holds, is gone after a broker restart.
    NotDurable,
    /// An argument (or, with `policy`, a policy key) with another value, or missing (`None`).
    Argument { name: String, expected: Option<String>, actual: Option<String>, policy: Option<String> },
    /// A quorum queue without a delivery limit of its own: RabbitMQ 4 applies its default of 20.
    DefaultDeliveryLimit { rabbitmq4: bool },
}

/// How much a difference matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// Every guarantee holds; worth knowing (on RabbitMQ 4, say).
    Advisory,
    /// A guarantee is weaker (unroutable events dropped, a queue not replicated), but
    /// consuming, retrying and dead-lettering work: the service stays ready.
    Degraded,
    /// The retry or dead-letter path cannot work, or routing cannot: the service is not ready.
    Unsafe,
}

impl Impact {
    /// True when the preflight fails on it: a guarantee of DESIGN.md §3/§4 no longer holds.
    pub fn breaks_a_guarantee(self) -> bool {
        self != Impact::Advisory
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Impact::Advisory => "advisory",
            Impact::Degraded => "degraded",
            Impact::Unsafe => "unsafe",
        }
    }
}

/// One object of one prefix that differs in one way.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Difference {
    pub role: Role,
    pub object: String,
    pub found: Found,
}

impl Difference {
    /// The metric label: a small fixed set.
    pub fn kind(&self) -> &'static str {
        match &self.found {
            Found::ExchangeType { .. } => "exchange_type",
            Found::QueueType { .. } => "queue_type",
            Found::NotDurable => "durable",
            Found::DefaultDeliveryLimit { .. } => "delivery_limit",
            Found::Argument { name, .. } => argument_kind(name),
        }
    }

    /// Whether eda's guarantees still hold with it.
    pub fn impact(&self) -> Impact {
        use Impact::*;
        use Role::*;
        let missing = matches!(&self.found, Found::Argument { actual: None, .. });
        match (self.kind(), self.role) {
            ("exchange_type", EventsExchange | RetryExchange) => Unsafe,
            ("exchange_type", _) => Degraded,
            ("queue_type", _) => match &self.found {
                Found::QueueType { expected, .. } if expected == "quorum" => Degraded,
                _ => Advisory,
            },
            ("durable", ParkingLot) => Unsafe,
            ("durable", _) => Degraded,
            ("alternate_exchange", EventsExchange) if missing => Degraded,
            ("alternate_exchange", _) => Advisory,
            ("dead_lettering", RetryQueue) => match &self.found {
                Found::Argument { name, .. } if name.ends_with("strategy") || name.ends_with("overflow") => {
                    Degraded
                }
                _ => Unsafe,
            },
            ("dead_lettering", _) => Advisory,
            ("message_ttl", RetryQueue) if missing => Unsafe,
            ("message_ttl", RetryQueue) => Advisory,
            ("message_ttl" | "length_limit" | "expiry", ParkingLot) => Unsafe,
            ("message_ttl" | "length_limit" | "expiry", _) => Degraded,
            ("delivery_limit", ParkingLot) => match &self.found {
                Found::DefaultDeliveryLimit { rabbitmq4: false } => Advisory,
                _ => Unsafe,
            },
            ("delivery_limit", UnroutedQueue) => match &self.found {
                Found::DefaultDeliveryLimit { rabbitmq4: false } => Advisory,
                _ => Degraded,
            },
            ("delivery_limit", _) => Advisory,
            // Replicated either way, by the cluster's choice rather than EDA_QUORUM_SIZE.
            ("replicas", _) => Advisory,
            _ => Advisory,
        }
    }

    /// What it means, in one sentence an operator can act on.
    pub fn consequence(&self) -> String {
        let object = &self.object;
        match (&self.found, self.role) {
            (Found::ExchangeType { actual, .. }, Role::EventsExchange) => {
                format!("events cannot be routed by event type: {object} is a {actual} exchange")
            }
            (Found::ExchangeType { actual, .. }, Role::RetryExchange) => {
                format!("a retry cannot reach only the queue that failed: {object} is a {actual} exchange")
            }
            (Found::ExchangeType { actual, .. }, _) => format!("{object} is a {actual} exchange"),
            (Found::QueueType { expected, actual }, _) if expected == "quorum" => {
                format!("{object} is a {actual} queue, not replicated: losing its node loses what it holds")
            }
            (Found::QueueType { expected, actual }, _) => {
                format!("{object} is a {actual} queue where {expected} was asked")
            }
            (Found::NotDurable, _) => format!("{object} and what it holds are gone after a broker restart"),
            (Found::DefaultDeliveryLimit { rabbitmq4 }, role) => {
                let now = if *rabbitmq4 { "" } else { "on RabbitMQ 4, " };
                match role {
                    Role::ParkingLot => format!(
                        "{now}a parked message is dropped at its twentieth `consumer dlq list` (default delivery limit 20)"
                    ),
                    _ => format!("{now}a message handed back 20 times is dropped (default delivery limit 20)"),
                }
            }
            (Found::Argument { name, expected, actual, policy }, role) => {
                let from = policy.as_ref().map(|p| format!(" (policy {p})")).unwrap_or_default();
                let what = match argument_kind(name) {
                    "alternate_exchange" if actual.is_none() => {
                        "unroutable events are dropped: no alternate exchange".to_owned()
                    }
                    "alternate_exchange" => "unroutable events go elsewhere than eda's unrouted queue".into(),
                    "dead_lettering" if role == Role::RetryQueue => {
                        "a retry never comes back to its queue".into()
                    }
                    "message_ttl" if role == Role::RetryQueue && actual.is_none() => {
                        "a retry waits forever: no message TTL".into()
                    }
                    "message_ttl" | "length_limit" | "expiry" if role == Role::ParkingLot => {
                        "the parking lot can drop what it holds".into()
                    }
                    "message_ttl" | "length_limit" | "expiry" => {
                        "messages can be dropped before anyone handles them".into()
                    }
                    "replicas" => {
                        "the queue keeps the replicas it was created with: only a new queue takes EDA_QUORUM_SIZE"
                            .into()
                    }
                    "delivery_limit" if role == Role::ParkingLot => {
                        "the parking lot drops a message after that many `consumer dlq list`s".into()
                    }
                    _ => "eda's declaration is not what the broker holds".into(),
                };
                let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
                format!("{what} ({name} is {}{from}, eda declares {})", shown(actual), shown(expected))
            }
        }
    }

    /// The exact command that makes the difference go away, for a broker on vhost `/`
    /// (`-p VHOST` for another). `prefix` is the installation's `EDA_PREFIX`.
    pub fn fix(&self, prefix: &str) -> String {
        let object = &self.object;
        let recreate_queue = format!(
            "move its messages away, `rabbitmqctl delete_queue {object}`, restart the service (it declares the queue again)"
        );
        let recreate_exchange = format!(
            "`rabbitmqadmin delete exchange name={object}`, restart the services (they declare it again)"
        );
        match (&self.found, self.role) {
            (Found::Argument { name, actual: None, .. }, Role::EventsExchange)
                if argument_kind(name) == "alternate_exchange" =>
            {
                policy_command(&events_policy(prefix))
            }
            (Found::Argument { name, policy: Some(p), .. }, _) => {
                format!("change or remove policy {p} (`rabbitmqctl clear_policy {p}`): {name}")
            }
            (Found::DefaultDeliveryLimit { rabbitmq4: true }, Role::ParkingLot | Role::UnroutedQueue) => {
                policy_command(&parking_lot_policy(prefix))
            }
            (Found::DefaultDeliveryLimit { rabbitmq4: false }, Role::ParkingLot | Role::UnroutedQueue) => {
                format!(
                    "right after upgrading to RabbitMQ 4 (3.x rejects -1 and needs nothing): {}",
                    policy_command(&parking_lot_policy(prefix))
                )
            }
            (Found::DefaultDeliveryLimit { .. }, _) => {
                let service = object.strip_prefix(&format!("{prefix}.")).unwrap_or(object);
                policy_command(&service_queues_policy(prefix, &[service]))
            }
            (Found::Argument { name, actual: None, .. }, Role::RetryQueue)
                if argument_kind(name) == "dead_lettering" =>
            {
                let service = object
                    .strip_prefix(&format!("{prefix}.retry."))
                    .and_then(|rest| rest.rsplit_once('.'))
                    .map_or("SERVICE", |(service, _)| service);
                policy_command(&retry_policy(prefix, service))
            }
            (Found::Argument { name, .. }, _) if argument_kind(name) == "replicas" => format!(
                "nothing needed; to change its replicas in place: `rabbitmq-queues add_member {object} NODE` or `rabbitmq-queues delete_member {object} NODE` (the argument itself stays as created)"
            ),
            _ if self.role.is_exchange() => recreate_exchange,
            _ => recreate_queue,
        }
    }
}

fn argument_kind(name: &str) -> &'static str {
    match name.trim_start_matches("x-") {
        "alternate-exchange" => "alternate_exchange",
        "dead-letter-exchange" | "dead-letter-routing-key" | "dead-letter-strategy" | "overflow" => {
            "dead_lettering"
        }
        "message-ttl" => "message_ttl",
        "delivery-limit" => "delivery_limit",
        "max-length" | "max-length-bytes" => "length_limit",
        "expires" => "expiry",
        "queue-type" => "queue_type",
        "quorum-initial-group-size" => "replicas",
        _ => "argument",
    }
}
