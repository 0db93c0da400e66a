//! What eda needs on the broker for a prefix, as data: each exchange and queue with the
//! arguments it is declared with, and the bindings. Declaring, tolerating what exists and the
//! preflight all read this one list, so they cannot disagree.

use std::collections::BTreeMap;

use super::{QueueType, ServiceQueue, Topology};
use crate::retry::RetryPolicy;

/// The part an object plays in eda's guarantees; metrics label it (`object_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// `<prefix>.events`: every event, routed by event type.
    EventsExchange,
    /// `<prefix>.retry`: delayed retries, to one retry queue each.
    RetryExchange,
    /// `<prefix>.unrouted` (exchange): the alternate exchange of `events`.
    UnroutedExchange,
    /// `<prefix>.unrouted` (queue): keeps the events no service is bound for.
    UnroutedQueue,
    /// `<prefix>.dead`: the parking lot.
    ParkingLot,
    /// `<prefix>.<service>`: a consuming service's queue.
    ServiceQueue,
    /// `<prefix>.retry.<service>.<level>`: where a retry waits for its delay.
    RetryQueue,
}

impl Role {
    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::EventsExchange => "events_exchange",
            Role::RetryExchange => "retry_exchange",
            Role::UnroutedExchange => "unrouted_exchange",
            Role::UnroutedQueue => "unrouted_queue",
            Role::ParkingLot => "parking_lot",
            Role::ServiceQueue => "service_queue",
            Role::RetryQueue => "retry_queue",
        }
    }

    pub fn is_exchange(self) -> bool {
        matches!(self, Role::EventsExchange | Role::RetryExchange | Role::UnroutedExchange)
    }
}

/// An exchange type eda uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeType {
    Topic,
    Direct,
    Fanout,
}

impl ExchangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeType::Topic => "topic",
            ExchangeType::Direct => "direct",
            ExchangeType::Fanout => "fanout",
        }
    }

    pub(crate) fn to_lapin(self) -> lapin::ExchangeKind {
        match self {
            ExchangeType::Topic => lapin::ExchangeKind::Topic,
            ExchangeType::Direct => lapin::ExchangeKind::Direct,
            ExchangeType::Fanout => lapin::ExchangeKind::Fanout,
        }
    }
}

/// An argument value as eda declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Number(i64),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Text(s) => write!(f, "'{s}'"),
            Value::Number(n) => write!(f, "{n}"),
        }
    }
}

/// Exchange or queue, with what makes it one or the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Exchange(ExchangeType),
    Queue(QueueType),
}

/// One exchange or queue eda needs, durable, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub role: Role,
    pub name: String,
    pub shape: Shape,
    /// Arguments other than `x-queue-type` (which `shape` carries).
    pub arguments: BTreeMap<&'static str, Value>,
}

/// `queue` bound to `exchange` with `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub exchange: String,
    pub queue: String,
    pub key: String,
}

/// Objects in declaration order (an exchange before what points at it), then bindings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub objects: Vec<Object>,
    pub bindings: Vec<Binding>,
}

impl Topology {
    /// Both exchanges, `dead`, `unrouted` and its binding: what every service declares.
    pub fn shared_plan(&self) -> Plan {
        let unrouted = self.unrouted();
        let objects = vec![
            object(Role::UnroutedExchange, &unrouted, Shape::Exchange(ExchangeType::Fanout), []),
            self.queue(Role::UnroutedQueue, &unrouted, vec![]),
            object(
                Role::EventsExchange,
                &self.events_exchange(),
                Shape::Exchange(ExchangeType::Topic),
                [("alternate-exchange", Value::Text(unrouted.clone()))],
            ),
            object(Role::RetryExchange, &self.retry_exchange(), Shape::Exchange(ExchangeType::Direct), []),
            self.queue(Role::ParkingLot, &self.dead_queue(), vec![]),
        ];
        let bindings = vec![Binding { exchange: unrouted.clone(), queue: unrouted, key: String::new() }];
        Plan { objects, bindings }
    }

    /// A service's queue, its bindings, and one retry queue per backoff level.
    pub fn service_plan(&self, queue: &ServiceQueue, retry: &RetryPolicy) -> Plan {
        let name = self.service_queue(&queue.service);
        let mut plan = Plan::default();
        plan.objects.push(self.queue(Role::ServiceQueue, &name, vec![]));
        for pattern in &queue.bindings {
            plan.bindings.push(Binding {
                exchange: self.events_exchange(),
                queue: name.clone(),
                key: pattern.clone(),
            });
        }
        for (i, delay) in retry.levels().iter().enumerate() {
            let retry_queue = self.retry_queue(&queue.service, i + 1);
            let ttl = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            let mut args = vec![
                ("x-message-ttl", Value::Number(ttl)),
                ("x-dead-letter-exchange", Value::Text(String::new())),
                ("x-dead-letter-routing-key", Value::Text(name.clone())),
            ];
            if self.queue_type == QueueType::Quorum {
                // Without these, a quorum queue dead-letters at most once: a retry could vanish.
                args.push(("x-dead-letter-strategy", Value::Text("at-least-once".into())));
                args.push(("x-overflow", Value::Text("reject-publish".into())));
            }
            plan.objects.push(self.queue(Role::RetryQueue, &retry_queue, args));
            plan.bindings.push(Binding {
                exchange: self.retry_exchange(),
                queue: retry_queue.clone(),
                key: retry_queue,
            });
        }
        plan
    }

    /// A queue of the installation's type; a quorum queue with its replica count, if one is set.
    fn queue(&self, role: Role, name: &str, mut arguments: Vec<(&'static str, Value)>) -> Object {
        if let (QueueType::Quorum, Some(size)) = (self.queue_type, self.quorum_size) {
            arguments.push((QUORUM_SIZE_ARGUMENT, Value::Number(i64::from(size))));
        }
        object(role, name, Shape::Queue(self.queue_type), arguments)
    }
}

/// The argument `EDA_QUORUM_SIZE` sets: a quorum queue's replicas when it is created.
pub const QUORUM_SIZE_ARGUMENT: &str = "x-quorum-initial-group-size";

fn object(
    role: Role,
    name: &str,
    shape: Shape,
    arguments: impl IntoIterator<Item = (&'static str, Value)>,
) -> Object {
    Object { role, name: name.to_owned(), shape, arguments: arguments.into_iter().collect() }
}
