//! A load of deployment events for many clients, shuffled, with the state each client's
//! deployment must end in: what the cluster test and the fault suite send through dbwriters
//! and check in PostgreSQL. Plain JSON of the envelope's wire format (DESIGN.md §2), so it
//! needs none of the services' types.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};

/// The life of a deployment, repeated: bought, provisioned, cancelled, uninstalled, bought again…
const CYCLE: [(&str, &str); 5] = [
    ("producer", "published"),
    ("provisioner", "provisioning"),
    ("provisioner", "provisioned"),
    ("producer", "cancelled"),
    ("provisioner", "deprovisioned"),
];

/// One event to publish to `<prefix>.events`.
#[derive(Debug, Clone)]
pub struct LoadEvent {
    pub routing_key: String,
    pub body: Vec<u8>,
    /// Stable: a resend after a lost confirm is a duplicate the dbwriter must drop.
    pub message_id: String,
}

impl LoadEvent {
    /// The AMQP properties it is published with: JSON, persistent, its message id.
    pub fn properties(&self) -> lapin::BasicProperties {
        lapin::BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_message_id(self.message_id.as_str().into())
    }
}

/// What a client's deployment must end as: its newest event's status and trace id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Newest {
    pub status: String,
    pub trace_id: String,
}

/// `events` in a shuffled order and the state each client (its namespace) must end in.
#[derive(Debug, Clone)]
pub struct OrderLoad {
    pub events: Vec<LoadEvent>,
    pub newest: BTreeMap<String, Newest>,
}

impl OrderLoad {
    /// `total` events over `clients` clients (a multiple of 5, so counts vary from client to
    /// client and the total holds), ids unique to `tag`; the shuffle is seeded, so reproducible.
    pub fn new(tag: &str, total: usize, clients: usize, seed: u64) -> OrderLoad {
        assert!(clients % 5 == 0 && total / clients >= 3, "clients: a multiple of 5, at least 3 events each");
        let per_client = total / clients;
        let start: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).single().expect("a valid time");
        let mut events = Vec::with_capacity(total);
        let mut newest = BTreeMap::new();
        for c in 0..clients {
            let client = format!("load{c}");
            // per_client - 2 ..= per_client + 2 events: every phase of the cycle ends some client.
            let mut n = per_client + c % 5 - 2;
            if c == clients - 1 {
                n += total - per_client * clients;
            }
            let mut trace = uuid::Uuid::new_v4();
            for i in 0..n {
                let (app, action) = CYCLE[i % CYCLE.len()];
                if action == "published" || action == "cancelled" {
                    trace = uuid::Uuid::new_v4();
                }
                let time = start + Duration::milliseconds(i as i64 * 10);
                events.push(event(tag, &client, app, action, time, trace, i));
                newest.insert(client.clone(), Newest { status: action.into(), trace_id: trace.to_string() });
            }
        }
        shuffle(&mut events, seed);
        OrderLoad { events, newest }
    }
}

/// The state each client's deployment ended in, as the dbwriter recorded it
/// (`v_current_deployments`): what [`OrderLoad::newest`] must equal.
pub async fn ended_states<'e>(db: impl sqlx::PgExecutor<'e>) -> sqlx::Result<BTreeMap<String, Newest>> {
    let rows: Vec<(String, String, uuid::Uuid)> =
        sqlx::query_as("SELECT namespace, status, trace_id FROM v_current_deployments").fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(namespace, status, trace)| (namespace, Newest { status, trace_id: trace.to_string() }))
        .collect())
}

fn event(
    tag: &str,
    client: &str,
    app: &str,
    action: &str,
    time: DateTime<Utc>,
    trace: uuid::Uuid,
    seq: usize,
) -> LoadEvent {
    let event_type = format!("mycompany.{app}.event.{client}.{action}");
    let body = serde_json::json!({
        "client": client, "namespace": client, "environment": "development",
        "archtype": "saas", "hardware": "dedicated", "product": "product-a", "seq": seq,
        "MessageAttributes": {
            "event_type": { "Type": "String", "Value": event_type },
            "published_on": time.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "trace_id": trace.to_string(),
            "retrace_intent": "0"
        },
        "Metadata": { "host": "load", "origing": "Cloud", "publisher": app }
    });
    LoadEvent {
        routing_key: event_type,
        body: serde_json::to_vec(&body).expect("JSON serialises"),
        message_id: format!("{tag}-{client}-{seq}"),
    }
}

/// Fisher–Yates with a small xorshift: reproducible, no dependency.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed | 1;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_has_the_total_asked_and_every_phase_ends_some_client() {
        let load = OrderLoad::new("t", 1_000, 100, 7);
        assert_eq!(load.events.len(), 1_000);
        assert_eq!(load.newest.len(), 100);
        let ids: std::collections::BTreeSet<_> = load.events.iter().map(|e| &e.message_id).collect();
        assert_eq!(ids.len(), 1_000, "message ids are unique");
        let phases: std::collections::BTreeSet<_> = load.newest.values().map(|n| n.status.as_str()).collect();
        assert_eq!(phases.len(), 5, "{phases:?}");
    }
}
