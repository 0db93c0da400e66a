//! When an order was given, and so which of two orders for one tenant is the newer
//! (DESIGN.md §8): the event time, ties broken by message id.
//!
//! The event time is `published_on` as given. The six-part legacy form
//! (`%Y.%m.%d.%H.%M.%N`) has no seconds field; for it the AMQP `timestamp` property (whole
//! seconds) stands in when the publisher set one, else the legacy time as read. A missing
//! `published_on` takes the `timestamp` too, else the time the order was read. Limits, in
//! docs/provisioner.md: two orders within one minute from a legacy publisher that sets no
//! timestamp are ordered by message id, and publishers whose clocks disagree are ordered by
//! their clocks.

use std::cmp::Ordering;

use chrono::{DateTime, SecondsFormat, Utc};
use eda_common::delivery::Message;
use eda_common::PublishedOnForm;

/// An order's place in its tenant's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStamp {
    pub time: DateTime<Utc>,
    /// The order's message id.
    pub id: String,
}

impl OrderStamp {
    pub fn of(message: &Message) -> OrderStamp {
        let attributes = &message.envelope.attributes;
        let time = match (attributes.published_on_form, message.sent_at) {
            (PublishedOnForm::Full, _) => attributes.published_on,
            (PublishedOnForm::LegacyWithoutSeconds | PublishedOnForm::Missing, Some(sent)) => sent,
            (PublishedOnForm::LegacyWithoutSeconds | PublishedOnForm::Missing, None) => {
                attributes.published_on
            }
        };
        OrderStamp { time, id: message.message_id.clone() }
    }

    /// The time as the Tenant stores it: RFC 3339 UTC with nanoseconds.
    pub fn time_text(&self) -> String {
        self.time.to_rfc3339_opts(SecondsFormat::Nanos, true)
    }

    /// Reads a stamp the Tenant stored.
    pub fn parse(id: &str, time: &str) -> Option<OrderStamp> {
        let time = DateTime::parse_from_rfc3339(time).ok()?.with_timezone(&Utc);
        Some(OrderStamp { time, id: id.to_string() })
    }

    /// Whether this order is newer than `other`, and so replaces it.
    pub fn is_newer_than(&self, other: &OrderStamp) -> bool {
        self > other
    }
}

impl Ord for OrderStamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.time.cmp(&other.time).then_with(|| self.id.cmp(&other.id))
    }
}

impl PartialOrd for OrderStamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use eda_common::envelope::parse_published_on;
    use eda_common::Envelope;

    use super::*;

    fn message(published_on: Option<&str>, id: &str, sent_at: Option<&str>) -> Message {
        let attributes = match published_on {
            Some(text) => format!(r#","published_on":"{text}""#),
            None => String::new(),
        };
        let json = format!(
            r#"{{"client":"c","MessageAttributes":{{"event_type":{{"Type":"String","Value":"a.b.event.c.published"}}{attributes}}}}}"#
        );
        Message {
            envelope: Envelope::from_json(json.as_bytes()).unwrap(),
            message_id: id.into(),
            routing_key: "a.b.event.c.published".into(),
            redelivered: false,
            received_at: Utc::now(),
            sent_at: sent_at.map(|t| t.parse().unwrap()),
            delivery_tag: 1,
            traceparent: None,
        }
    }

    #[test]
    fn rfc3339_times_order_orders_and_equal_times_fall_back_to_the_message_id() {
        let a = OrderStamp::of(&message(Some("2023-01-02T23:02:00.5Z"), "b", None));
        let b = OrderStamp::of(&message(Some("2023-01-02T23:02:00.6Z"), "a", None));
        assert!(b.is_newer_than(&a) && !a.is_newer_than(&b));
        let tie = OrderStamp::of(&message(Some("2023-01-02T23:02:00.5Z"), "c", None));
        assert!(tie.is_newer_than(&a), "same time: the greater message id is the newer");
        assert!(!a.is_newer_than(&a), "an order is not newer than itself (a redelivery)");
    }

    #[test]
    fn a_seed_format_time_with_nanoseconds_orders_against_rfc3339_times() {
        // The seed's 2023.01.2.23.02.642883101 is 23:02:00.642883101 (no seconds field).
        let legacy = OrderStamp::of(&message(Some("2023.01.2.23.02.642883101"), "z", None));
        assert_eq!(legacy.time_text(), "2023-01-02T23:02:00.642883101Z");
        let before = OrderStamp::of(&message(Some("2023-01-02T23:02:00.642883100Z"), "z", None));
        let after = OrderStamp::of(&message(Some("2023-01-02T23:02:00.642883102Z"), "a", None));
        assert!(legacy.is_newer_than(&before) && after.is_newer_than(&legacy));
    }

    #[test]
    fn the_amqp_timestamp_stands_in_for_a_legacy_time_without_seconds_or_a_missing_one() {
        let legacy =
            OrderStamp::of(&message(Some("2023.01.2.23.02.642883101"), "x", Some("2023-01-02T23:02:41Z")));
        assert_eq!(legacy.time_text(), "2023-01-02T23:02:41.000000000Z");
        let missing = OrderStamp::of(&message(None, "x", Some("2023-01-02T23:02:41Z")));
        assert_eq!(missing.time, legacy.time);
        // A full time is taken as given, whatever the timestamp says.
        let full = OrderStamp::of(&message(Some("2023-01-02T23:02:05Z"), "x", Some("2023-01-02T23:02:41Z")));
        assert_eq!(full.time, parse_published_on("2023-01-02T23:02:05Z").unwrap());
        // The seven-part legacy form has seconds: taken as given.
        let seven = OrderStamp::of(&message(Some("2023.01.2.23.02.07.5"), "x", Some("2023-01-02T23:02:41Z")));
        assert_eq!(seven.time_text(), "2023-01-02T23:02:07.000000005Z");
    }

    #[test]
    fn a_stored_stamp_reads_back_equal() {
        let stamp = OrderStamp::of(&message(Some("2023-01-02T23:02:00.642883101Z"), "id-1", None));
        assert_eq!(OrderStamp::parse("id-1", &stamp.time_text()), Some(stamp));
        assert_eq!(OrderStamp::parse("id-1", "yesterday"), None);
    }
}
