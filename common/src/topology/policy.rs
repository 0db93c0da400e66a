//! The broker policies eda documents for a prefix (docs/operations.md "Broker topology and
//! policies"): what the fixes print, the chart creates and the preflight expects. Only one
//! policy applies to an object, so their patterns never overlap.

/// A policy as `rabbitmqctl set_policy` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub pattern: String,
    pub apply_to: &'static str,
    pub priority: u32,
    pub definition: serde_json::Value,
}

/// `rabbitmqctl set_policy …` for `policy`.
pub fn policy_command(policy: &Policy) -> String {
    format!(
        "rabbitmqctl set_policy --apply-to {} --priority {} {} '{}' '{}'",
        policy.apply_to, policy.priority, policy.name, policy.pattern, policy.definition
    )
}

/// `<prefix>.events` gets `<prefix>.unrouted` as alternate exchange.
pub fn events_policy(prefix: &str) -> Policy {
    Policy {
        name: format!("{prefix}-events"),
        pattern: format!("^{}\\.events$", escape(prefix)),
        apply_to: "exchanges",
        priority: 10,
        definition: serde_json::json!({ "alternate-exchange": format!("{prefix}.unrouted") }),
    }
}

/// RabbitMQ 4: no delivery limit on the parking lot and `unrouted` (3.x rejects -1 and has no default).
pub fn parking_lot_policy(prefix: &str) -> Policy {
    Policy {
        name: format!("{prefix}-parking-lot"),
        pattern: format!("^{}\\.(dead|unrouted)$", escape(prefix)),
        apply_to: "queues",
        priority: 20,
        definition: serde_json::json!({ "delivery-limit": -1 }),
    }
}

/// The delivery limit the documented policy gives service queues: far above any redelivery storm.
pub const SERVICE_DELIVERY_LIMIT: i64 = 1000;

/// The service queues named get a generous delivery limit (valid on 3.x too). Named, not
/// `^<prefix>\.`: that would also match the parking lot, and on 3.x no policy can outrank it
/// with "no limit" (3.x rejects -1), so the parking lot would get the limit.
pub fn service_queues_policy(prefix: &str, services: &[&str]) -> Policy {
    let names: Vec<String> = services.iter().map(|s| escape(s)).collect();
    Policy {
        name: format!("{prefix}-service-queues"),
        pattern: format!("^{}\\.({})$", escape(prefix), names.join("|")),
        apply_to: "queues",
        priority: 10,
        definition: serde_json::json!({ "delivery-limit": SERVICE_DELIVERY_LIMIT }),
    }
}

/// Dead-lettering of a service's retry queues back to its queue (their TTL stays an argument).
pub fn retry_policy(prefix: &str, service: &str) -> Policy {
    Policy {
        name: format!("{prefix}-retry-{service}"),
        pattern: format!("^{}\\.retry\\.{}\\.[0-9]+$", escape(prefix), escape(service)),
        apply_to: "queues",
        priority: 30,
        definition: serde_json::json!({
            "dead-letter-exchange": "",
            "dead-letter-routing-key": format!("{prefix}.{service}"),
            "delivery-limit": SERVICE_DELIVERY_LIMIT,
        }),
    }
}

fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
