//! The envelope: wire format v1 (DESIGN.md §2), the JSON every eda message carries.
//!
//! Business fields sit at the top level; `MessageAttributes` carries routing and tracing,
//! `Metadata` says who published. Reading is liberal ([`Envelope::from_json`], and
//! [`Envelope::decode`] which also takes CloudEvents), writing is exact
//! ([`Envelope::to_json`]). `docs/envelope.schema.json` describes the same format for
//! publishers in other languages and is tested against these types.

mod cloudevents;
pub(crate) mod error;
mod published_on;
mod read;
mod trace;
mod write;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::EventType;

pub use cloudevents::cloudevent_headers;
pub(crate) use error::quote;
pub use error::{json_type, EnvelopeError};
pub use published_on::{format_published_on, parse_published_on, published_on_form};
pub use trace::{message_id_for_body, stable_trace_id, trace_id_from_traceparent, traceparent};

/// The largest message body accepted, checked before parsing so a huge body costs nothing.
pub const MAX_BODY_BYTES: usize = 1024 * 1024; // 1 MiB

/// AMQP headers / application properties of a delivery, values stringified.
pub type Headers = std::collections::BTreeMap<String, String>;

/// One event: business fields plus the two fixed objects of wire format v1.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Business fields at the top level (client, namespace, environment, archtype, hardware, product, …, and any unknown top-level field), order kept.
    pub body: Map<String, Value>,
    pub attributes: MessageAttributes,
    pub metadata: Metadata,
}

/// `MessageAttributes`: what the event is, when, in which trace, and which attempt. Equality
/// ignores `published_on_form`: it says how the time was read, not what it is.
#[derive(Debug, Clone)]
pub struct MessageAttributes {
    /// `event_type.Value`; written back as `{"Type": "String", "Value": …}`.
    pub event_type: EventType,
    pub published_on: DateTime<Utc>,
    /// How `published_on` was given: it decides how far the provisioner trusts it to order
    /// two orders (DESIGN.md §8). Not written back: the suite always writes RFC 3339.
    pub published_on_form: PublishedOnForm,
    pub trace_id: Uuid,
    /// How many times this event has been retried: 0 on first delivery.
    pub retrace_intent: u32,
    /// Unknown keys of MessageAttributes, kept and written back after the known ones.
    /// (Unknown keys inside `event_type`, next to `Type` and `Value`, are dropped.)
    pub extra: Map<String, Value>,
}

impl PartialEq for MessageAttributes {
    fn eq(&self, other: &Self) -> bool {
        self.event_type == other.event_type
            && self.published_on == other.published_on
            && self.trace_id == other.trace_id
            && self.retrace_intent == other.retrace_intent
            && self.extra == other.extra
    }
}

/// The form a `published_on` arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublishedOnForm {
    /// A full time: RFC 3339, ISO 8601, or the seven-part legacy form with seconds.
    #[default]
    Full,
    /// The six-part legacy `%Y.%m.%d.%H.%M.%N`: no seconds field, so only the minute is known.
    LegacyWithoutSeconds,
    /// No `published_on` at all: the time of reading stands in.
    Missing,
}

/// `Metadata`: who published the event and from where.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    pub host: Option<String>,
    /// Written as `origing` (the legacy spelling); `origin` accepted on read.
    pub origin: Option<String>,
    pub publisher: Option<String>,
    /// Unknown keys of Metadata, kept and written back after the known ones.
    pub extra: Map<String, Value>,
}

/// An envelope and, when it arrived as a CloudEvent, the CloudEvent `id` (the runtime uses it as message id).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub envelope: Envelope,
    pub cloudevent_id: Option<String>,
}

impl Envelope {
    /// A fresh envelope: published_on = now, retrace_intent 0, empty metadata.
    pub fn new(event_type: EventType, trace_id: Uuid, body: Map<String, Value>) -> Self {
        Self {
            body,
            attributes: MessageAttributes {
                event_type,
                published_on: Utc::now(),
                published_on_form: PublishedOnForm::Full,
                trace_id,
                retrace_intent: 0,
                extra: Map::new(),
            },
            metadata: Metadata::default(),
        }
    }

    pub fn event_type(&self) -> &EventType {
        &self.attributes.event_type
    }

    pub fn trace_id(&self) -> Uuid {
        self.attributes.trace_id
    }

    /// A top-level business field, if it is a string (`client`, `namespace`, `product`, …).
    pub fn body_str(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }

    /// The same envelope with retrace_intent + 1 (saturating).
    pub fn next_attempt(&self) -> Self {
        let mut next = self.clone();
        next.attributes.retrace_intent = next.attributes.retrace_intent.saturating_add(1);
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Envelope {
        let body = json!({"client": "cliente02", "replicas": 2});
        let event_type = "mycompany.producer.event.cliente02.published".parse().unwrap();
        Envelope::new(event_type, Uuid::nil(), body.as_object().unwrap().clone())
    }

    #[test]
    fn new_starts_at_attempt_zero_now_with_empty_metadata() {
        let before = Utc::now();
        let envelope = sample();
        assert_eq!(envelope.attributes.retrace_intent, 0);
        assert!(envelope.attributes.published_on >= before);
        assert!(envelope.attributes.published_on <= Utc::now());
        assert_eq!(envelope.metadata, Metadata::default());
        assert!(envelope.attributes.extra.is_empty());
    }

    #[test]
    fn accessors_read_the_attributes_and_string_body_fields() {
        let envelope = sample();
        assert_eq!(envelope.event_type().action(), "published");
        assert_eq!(envelope.trace_id(), Uuid::nil());
        assert_eq!(envelope.body_str("client"), Some("cliente02"));
        assert_eq!(envelope.body_str("replicas"), None);
        assert_eq!(envelope.body_str("absent"), None);
    }

    #[test]
    fn next_attempt_counts_up_and_saturates() {
        let mut envelope = sample();
        let next = envelope.next_attempt();
        assert_eq!(next.attributes.retrace_intent, 1);
        assert_eq!(next.body, envelope.body);
        envelope.attributes.retrace_intent = u32::MAX;
        assert_eq!(envelope.next_attempt().attributes.retrace_intent, u32::MAX);
    }
}
