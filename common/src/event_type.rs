//! Event types: `<company>.<app>.event.<client>.<action>`, which is also the routing key
//! of every message on the events exchange, so services bind with `*`/`#` patterns on it.

use std::fmt;
use std::str::FromStr;

// The error type alone (envelope/error.rs depends on nothing), not the envelope, which uses this.
use crate::envelope::error::{quote, EnvelopeError};

/// The field an event-type error is reported against, as the wire format spells it.
const FIELD: &str = "MessageAttributes.event_type.Value";
/// AMQP 0-9-1 routing keys are short strings: at most 255 bytes.
pub const MAX_EVENT_TYPE_BYTES: usize = 255;
const SHAPE: &str = "<company>.<app>.event.<client>.<action>";
const SEGMENT_NAMES: [&str; 5] = ["company", "app", "event", "client", "action"];

/// `<company>.<app>.event.<client>.<action>`
///
/// Only the routing-key rules are enforced here (five non-empty segments without AMQP
/// wildcards, whitespace or control characters, `event` third): audit services must
/// still record odd events. Services that act on the client check it with
/// [`ClientName`](crate::ClientName).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventType {
    value: String,
    /// Byte offsets of the four separating dots, so accessors are slices of `value`.
    dots: [usize; 4],
}

impl EventType {
    /// Builds `<company>.<app>.event.<client>.<action>` from its variable segments.
    pub fn new(company: &str, app: &str, client: &str, action: &str) -> Result<Self, EnvelopeError> {
        for (name, segment) in [("company", company), ("app", app), ("client", client), ("action", action)] {
            if segment.contains('.') {
                return Err(EnvelopeError::invalid(FIELD, format!("{name} {} contains '.'", quote(segment))));
            }
        }
        format!("{company}.{app}.event.{client}.{action}").parse()
    }

    pub fn company(&self) -> &str {
        &self.value[..self.dots[0]]
    }

    pub fn app(&self) -> &str {
        &self.value[self.dots[0] + 1..self.dots[1]]
    }

    pub fn client(&self) -> &str {
        &self.value[self.dots[2] + 1..self.dots[3]]
    }

    pub fn action(&self) -> &str {
        &self.value[self.dots[3] + 1..]
    }

    /// The dotted form, which is also the routing key.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Same company and client, another app and action (for follow-up events).
    pub fn follow_up(&self, app: &str, action: &str) -> Result<Self, EnvelopeError> {
        Self::new(self.company(), app, self.client(), action)
    }
}

impl FromStr for EventType {
    type Err = EnvelopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| Err(EnvelopeError::invalid(FIELD, reason));
        if s.len() > MAX_EVENT_TYPE_BYTES {
            return invalid(format!(
                "is {} bytes, over the {MAX_EVENT_TYPE_BYTES}-byte AMQP routing-key limit",
                s.len()
            ));
        }
        let segments: Vec<&str> = s.split('.').collect();
        if segments.len() != 5 {
            return invalid(format!("has {} segments, expected 5: {SHAPE}", segments.len()));
        }
        for (segment, name) in segments.iter().zip(SEGMENT_NAMES) {
            if segment.is_empty() {
                return invalid(format!("the {name} segment is empty, expected {SHAPE}"));
            }
            if let Some(c) =
                segment.chars().find(|c| matches!(c, '*' | '#') || c.is_whitespace() || c.is_control())
            {
                return invalid(format!(
                    "the {name} segment has {c:?}; wildcards, whitespace and control characters cannot be in a routing key"
                ));
            }
        }
        if segments[2] != "event" {
            return invalid(format!(
                "the third segment is {}, expected \"event\": {SHAPE}",
                quote(segments[2])
            ));
        }
        let mut dots = [0; 4];
        let mut at = 0;
        for (dot, segment) in dots.iter_mut().zip(&segments) {
            at += segment.len();
            *dot = at;
            at += 1;
        }
        Ok(Self { value: s.to_owned(), dots })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl AsRef<str> for EventType {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

impl serde::Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.value)
    }
}

impl<'de> serde::Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> String {
        match s.parse::<EventType>() {
            Err(EnvelopeError::Invalid { field, reason }) => {
                assert_eq!(field, FIELD);
                reason
            }
            other => panic!("{s:?} gave {other:?}"),
        }
    }

    #[test]
    fn parses_into_segments_and_formats_back() {
        let t: EventType = "mycompany.producer.event.cliente02.published".parse().unwrap();
        assert_eq!(
            (t.company(), t.app(), t.client(), t.action()),
            ("mycompany", "producer", "cliente02", "published")
        );
        assert_eq!(t.to_string(), "mycompany.producer.event.cliente02.published");
        assert_eq!(t.as_str(), t.as_ref());
    }

    #[test]
    fn new_builds_the_dotted_form() {
        let t = EventType::new("mycompany", "provisioner", "cliente02", "provisioned").unwrap();
        assert_eq!(t.as_str(), "mycompany.provisioner.event.cliente02.provisioned");
        assert_eq!(t, t.as_str().parse().unwrap());
    }

    #[test]
    fn new_rejects_a_dot_inside_a_segment() {
        let error = EventType::new("my.company", "p", "c", "a").unwrap_err();
        assert_eq!(error.field(), Some(FIELD));
        assert!(error.to_string().contains("company \"my.company\" contains '.'"));
    }

    #[test]
    fn follow_up_keeps_company_and_client() {
        let t: EventType = "acme.producer.event.c1.published".parse().unwrap();
        let next = t.follow_up("provisioner", "provisioning").unwrap();
        assert_eq!(next.as_str(), "acme.provisioner.event.c1.provisioning");
        assert!(t.follow_up("a b", "x").is_err());
    }

    #[test]
    fn accepts_clients_that_are_not_dns_labels() {
        let t: EventType = "acme.legacy.event.Client_02.Published".parse().unwrap();
        assert_eq!(t.client(), "Client_02");
        assert_eq!(t.action(), "Published");
    }

    #[test]
    fn rejects_the_wrong_number_of_segments() {
        assert_eq!(
            reason("mycompany.producer.event.published"),
            "has 4 segments, expected 5: <company>.<app>.event.<client>.<action>"
        );
        assert!(reason("a.b.event.c.d.e").starts_with("has 6 segments"));
        assert!(reason("").starts_with("has 1 segments"));
    }

    #[test]
    fn rejects_a_third_segment_other_than_event() {
        assert!(reason("a.b.evnt.c.d").contains("third segment is \"evnt\""));
    }

    #[test]
    fn rejects_empty_segments_wildcards_whitespace_and_control_characters() {
        assert!(reason("a..event.c.d").contains("app segment is empty"));
        assert!(reason("a.b.event.c.").contains("action segment is empty"));
        assert!(reason("a.b.event.*.d").contains("client segment has '*'"));
        assert!(reason("a.#.event.c.d").contains("'#'"));
        assert!(reason("a.b.event.c d.e").contains("' '"));
        assert!(reason("a.b.event.c.d\n").contains("'\\n'"));
        assert!(reason("a.b.event.c.d\u{7f}").contains("action segment"));
    }

    #[test]
    fn rejects_more_than_255_bytes() {
        let long = format!("a.b.event.c.{}", "x".repeat(244));
        assert_eq!(long.len(), 256);
        assert!(reason(&long).contains("256 bytes"));
        assert!(long[..255].parse::<EventType>().is_ok());
    }

    #[test]
    fn serde_is_the_dotted_string() {
        let t: EventType = serde_json::from_str("\"a.b.event.c.d\"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"a.b.event.c.d\"");
        let error = serde_json::from_str::<EventType>("\"a.b.c\"").unwrap_err();
        assert!(error.to_string().contains("has 3 segments"));
    }
}
