//! What the management API shows, compared with what eda declares: arguments as the broker
//! applies them (an argument, else the one policy that applies; for limits the lower of both).

use eda_common::topology::plan::{Object, Shape, Value as Declared};
use eda_common::topology::{Difference, Found, Role};
use serde_json::Value;

use super::management::{Found as Existing, PolicyFound};

/// Keys where RabbitMQ applies the lower of argument and policy.
const LIMITS: [&str; 5] = ["message-ttl", "max-length", "max-length-bytes", "expires", "delivery-limit"];

/// The vhost's policies, with their patterns compiled; a pattern the regex crate cannot read
/// (PCRE look-arounds) is kept aside and reported as not checked.
#[derive(Debug, Default)]
pub struct Policies {
    compiled: Vec<(regex::Regex, PolicyFound)>,
    pub unreadable: Vec<String>,
}

impl Policies {
    pub fn new(found: Vec<PolicyFound>) -> Self {
        let mut policies = Policies::default();
        for policy in found {
            match regex::Regex::new(&policy.pattern) {
                Ok(re) => policies.compiled.push((re, policy)),
                Err(_) => policies.unreadable.push(policy.name),
            }
        }
        policies
    }

    /// The policy RabbitMQ applies to `name`: the highest priority among those that match.
    pub fn applying(&self, name: &str, exchange: bool) -> Option<&PolicyFound> {
        self.compiled
            .iter()
            .filter(|(re, p)| {
                let kind = match p.apply_to.as_str() {
                    "all" => true,
                    "exchanges" => exchange,
                    _ => !exchange,
                };
                kind && re.is_match(name)
            })
            .map(|(_, p)| p)
            .max_by_key(|p| p.priority)
    }
}

/// One key as the broker applies it, and the policy it comes from (if it does).
fn effective(
    existing: &Existing,
    policy: Option<&PolicyFound>,
    key: &str,
) -> Option<(Value, Option<String>)> {
    let arg = existing.arguments.get(&format!("x-{key}")).or_else(|| existing.arguments.get(key)).cloned();
    let from_policy = policy.and_then(|p| p.definition.get(key).map(|v| (v.clone(), p.name.clone())));
    match (arg, from_policy) {
        (Some(a), Some((p, name))) if LIMITS.contains(&key) => match (a.as_i64(), p.as_i64()) {
            (Some(x), Some(y)) if y < x => Some((p, Some(name))),
            _ => Some((a, None)),
        },
        (Some(a), _) => Some((a, None)),
        (None, Some((p, name))) => Some((p, Some(name))),
        (None, None) => None,
    }
}

fn text(value: &Value) -> String {
    value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string())
}

fn declared(value: &Declared) -> String {
    match value {
        Declared::Text(s) => s.clone(),
        Declared::Number(n) => n.to_string(),
    }
}

/// Every way `existing` differs from `object`. `rabbitmq4`: the broker is 4.x or newer.
pub fn differences(
    object: &Object,
    existing: &Existing,
    policies: &Policies,
    rabbitmq4: bool,
) -> Vec<Difference> {
    let exchange = object.role.is_exchange();
    let policy = policies.applying(&object.name, exchange);
    let mut found = Vec::new();
    let actual_kind = existing.kind.clone().unwrap_or_else(|| "unknown".into());
    match &object.shape {
        Shape::Exchange(kind) if kind.as_str() != actual_kind => {
            found.push(Found::ExchangeType { expected: kind.as_str().into(), actual: actual_kind.clone() });
        }
        Shape::Queue(kind) if kind.as_str() != actual_kind => {
            found.push(Found::QueueType { expected: kind.as_str().into(), actual: actual_kind.clone() });
        }
        _ => {}
    }
    if !existing.durable {
        found.push(Found::NotDurable);
    }
    for (name, value) in &object.arguments {
        let key = name.trim_start_matches("x-");
        let expected = declared(value);
        match effective(existing, policy, key) {
            Some((actual, _)) if text(&actual) == expected => {}
            Some((actual, from)) => found.push(Found::Argument {
                name: name.to_string(),
                expected: Some(expected),
                actual: Some(text(&actual)),
                policy: from,
            }),
            None => found.push(Found::Argument {
                name: name.to_string(),
                expected: Some(expected),
                actual: None,
                policy: None,
            }),
        }
    }
    if !exchange {
        found.extend(limits(object, existing, policy, rabbitmq4, &actual_kind));
    }
    found
        .into_iter()
        .map(|f| Difference { role: object.role, object: object.name.clone(), found: f })
        .collect()
}

/// Limits eda never declares, that drop messages; and RabbitMQ 4's default delivery limit.
fn limits(
    object: &Object,
    existing: &Existing,
    policy: Option<&PolicyFound>,
    rabbitmq4: bool,
    actual_kind: &str,
) -> Vec<Found> {
    let mut found = Vec::new();
    for key in LIMITS {
        if object.arguments.contains_key(format!("x-{key}").as_str()) {
            continue;
        }
        let Some((value, from)) = effective(existing, policy, key) else { continue };
        let limit = value.as_i64();
        let acceptable = match (key, object.role) {
            // -1: no limit (RabbitMQ 4).
            ("delivery-limit", Role::ParkingLot | Role::UnroutedQueue) => limit.is_some_and(|l| l < 0),
            // eda's retries are new publishes: only redeliveries count, 20 (RabbitMQ 4's default) is plenty.
            ("delivery-limit", _) => limit.is_some_and(|l| !(0..20).contains(&l)),
            _ => false,
        };
        if !acceptable {
            found.push(Found::Argument {
                name: key.into(),
                expected: None,
                actual: Some(text(&value)),
                policy: from,
            });
        }
    }
    let consumed = matches!(object.role, Role::ParkingLot | Role::UnroutedQueue | Role::ServiceQueue);
    if consumed && actual_kind == "quorum" && effective(existing, policy, "delivery-limit").is_none() {
        found.push(Found::DefaultDeliveryLimit { rabbitmq4 });
    }
    found
}
