//! From a Kubernetes event and its namespace's trace to the envelope published on
//! `<company>.k8s-event-exporter.event.<client>.<reason>` (DESIGN.md §2, §5).

use eda_common::envelope::Metadata;
use eda_common::{Envelope, EventType};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::kube_event::KubeEvent;

/// The `app` segment of every event type this service publishes.
pub const APP: &str = "k8s-event-exporter";

/// A routing-key segment has at most this many characters (a DNS label's length).
const MAX_SEGMENT: usize = 63;

/// Who an event is for: the client segment and the trace it joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub client: String,
    pub trace_id: Uuid,
    /// The namespace carries no trace id: `trace_id` is fresh and the body says `untraced`.
    pub untraced: bool,
    /// The order's span (the namespace's `eda.io/traceparent`), parent of the export's span.
    pub order_span: Option<String>,
}

/// Lowercase `[a-z0-9-]`, anything else as `-`, dashes trimmed, at most 63 characters;
/// `unknown` when nothing is left. `BackOff` → `backoff`, `FailedMount` → `failedmount`.
pub fn routing_segment(raw: &str) -> String {
    let mapped: String = raw
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' })
        .collect();
    let mut segment: String = mapped.trim_matches('-').chars().take(MAX_SEGMENT).collect();
    segment.truncate(segment.trim_end_matches('-').len());
    if segment.is_empty() {
        "unknown".into()
    } else {
        segment
    }
}

/// The envelope for one (event, count): business fields at the top level.
pub fn envelope_for(company: &str, event: &KubeEvent, who: &Attribution) -> Envelope {
    let client = routing_segment(&who.client);
    let action = routing_segment(&event.reason);
    let company = routing_segment(company);
    let event_type = EventType::new(&company, APP, &client, &action)
        .expect("sanitized segments always make a valid event type");
    let mut body = Map::new();
    body.insert("client".into(), json!(who.client));
    body.insert("namespace".into(), json!(event.namespace));
    body.insert(
        "involved_object".into(),
        json!({"kind": event.involved.kind, "name": event.involved.name, "uid": event.involved.uid}),
    );
    body.insert("reason".into(), json!(event.reason));
    body.insert("message".into(), json!(event.message));
    body.insert("type".into(), json!(event.event_type));
    body.insert("count".into(), json!(event.count));
    body.insert("first_time".into(), time(event.first_time));
    body.insert("last_time".into(), time(event.last_time));
    body.insert("reporting_controller".into(), json!(event.reporting_controller));
    body.insert("event_uid".into(), json!(event.uid));
    body.insert("event_name".into(), json!(event.name));
    if who.untraced {
        body.insert("untraced".into(), json!(true));
    }
    let mut envelope = Envelope::new(event_type, who.trace_id, body);
    envelope.metadata = Metadata {
        host: hostname(),
        origin: Some("Kubernetes".into()),
        publisher: Some(APP.into()),
        extra: Map::new(),
    };
    envelope
}

/// The same (event uid, count) always gets the same message id, so a republish after a
/// crash is dropped downstream as a duplicate (dbwriter dedupes on `message_id`). The id leads
/// with the event's first time, which never changes for an event object, so ids sort by it.
pub fn message_id(event: &KubeEvent) -> String {
    let digest = Sha256::digest(format!("{APP}/{}/{}", event.uid, event.count).as_bytes());
    eda_common::message_id::derived_at(event.first_time, &digest.into())
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.map_or(Value::Null, |t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
}

fn hostname() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube_event::InvolvedObject;

    #[test]
    fn reasons_become_lowercase_routing_segments() {
        assert_eq!(routing_segment("BackOff"), "backoff");
        assert_eq!(routing_segment("Failed Mount!"), "failed-mount");
        assert_eq!(routing_segment("--x.y*z#--"), "x-y-z");
        assert_eq!(routing_segment(""), "unknown");
        assert_eq!(routing_segment("*.#"), "unknown");
        let long = routing_segment(&format!("{}-{}", "a".repeat(62), "b".repeat(10)));
        assert_eq!(long, "a".repeat(62), "cut at 63 and no trailing dash");
    }

    fn event() -> KubeEvent {
        KubeEvent {
            uid: "u1".into(),
            namespace: "cliente02".into(),
            name: "p.1".into(),
            involved: InvolvedObject {
                kind: "Pod".into(),
                name: "p".into(),
                uid: "pu".into(),
                namespace: None,
            },
            reason: "BackOff".into(),
            message: "Back-off".into(),
            event_type: "Warning".into(),
            count: 2,
            ..KubeEvent::default()
        }
    }

    #[test]
    fn the_envelope_names_client_and_reason_and_carries_the_trace() {
        let trace_id = Uuid::new_v4();
        let who = Attribution { client: "cliente02".into(), trace_id, untraced: false, order_span: None };
        let env = envelope_for("mycompany", &event(), &who);
        assert_eq!(env.event_type().as_str(), "mycompany.k8s-event-exporter.event.cliente02.backoff");
        assert_eq!(env.trace_id(), trace_id);
        assert_eq!(env.body["involved_object"]["kind"], "Pod");
        assert_eq!(env.body["count"], 2);
        assert_eq!(env.body["event_uid"], "u1");
        assert!(!env.body.contains_key("untraced"));
        assert_eq!(env.metadata.publisher.as_deref(), Some(APP));
    }

    #[test]
    fn an_untraced_event_says_so_and_odd_clients_are_sanitized() {
        let who = Attribution {
            client: "Team.A".into(),
            trace_id: Uuid::new_v4(),
            untraced: true,
            order_span: None,
        };
        let env = envelope_for("mycompany", &event(), &who);
        assert_eq!(env.event_type().client(), "team-a");
        assert_eq!(env.body["untraced"], true);
    }

    #[test]
    fn message_ids_are_stable_per_uid_and_count() {
        let mut e = event();
        let first = message_id(&e);
        assert_eq!(first, message_id(&e));
        e.count = 3;
        assert_ne!(first, message_id(&e));
        assert!(Uuid::parse_str(&first).is_ok());
    }

    #[test]
    fn message_ids_lead_with_the_events_first_time_so_newer_events_sort_after() {
        let first_time = chrono::DateTime::from_timestamp(1_796_000_000, 0);
        let mut e = KubeEvent { first_time, ..event() };
        let first_time = first_time.unwrap();
        let id = message_id(&e);
        assert_eq!(
            eda_common::message_id::created_at(&id),
            u64::try_from(first_time.timestamp_millis()).ok()
        );
        e.count += 1;
        e.last_time = Some(first_time + chrono::Duration::hours(1));
        assert_eq!(message_id(&e)[..13], id[..13], "a recurrence keeps the time of the first");
        let newer_time = Some(first_time + chrono::Duration::seconds(1));
        let newer = KubeEvent { uid: "another".into(), first_time: newer_time, ..event() };
        assert!(message_id(&newer) > id, "{} sorts after {id}", message_id(&newer));
    }
}
