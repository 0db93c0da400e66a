//! A delivery turned into what business code sees.

use chrono::{DateTime, Utc};
use lapin::message::Delivery;
use lapin::types::AMQPValue;
use lapin::BasicProperties;

use crate::envelope::{message_id_for_body, Envelope, EnvelopeError, Headers};

/// One message for a handler: the envelope and the delivery facts around it.
#[derive(Debug, Clone)]
pub struct Message {
    pub envelope: Envelope,
    /// The idempotency key: the AMQP `message_id`, else the CloudEvent id, else the SHA-256 of the body.
    pub message_id: String,
    pub routing_key: String,
    pub redelivered: bool,
    pub received_at: DateTime<Utc>,
    /// The AMQP `timestamp` property, when the publisher set one.
    pub sent_at: Option<DateTime<Utc>>,
    pub delivery_tag: u64,
    /// The W3C `traceparent` it was sent with (the AMQP header, else `ce-traceparent`): the
    /// sender's span, under which this message's span is made.
    pub traceparent: Option<String>,
}

impl Message {
    /// Decodes a delivery; the error names what is wrong with it.
    pub fn from_delivery(delivery: &Delivery) -> Result<Message, EnvelopeError> {
        let props = &delivery.properties;
        let content_type = props.content_type().as_ref().map(|c| c.as_str());
        let headers = headers_of(props);
        let decoded = Envelope::decode(&delivery.data, content_type, &headers)?;
        let message_id = props
            .message_id()
            .as_ref()
            .map(|m| m.as_str().to_owned())
            .filter(|m| !m.is_empty())
            .or(decoded.cloudevent_id)
            .unwrap_or_else(|| message_id_for_body(&delivery.data));
        Ok(Message {
            envelope: decoded.envelope,
            message_id,
            routing_key: delivery.routing_key.as_str().to_owned(),
            redelivered: delivery.redelivered,
            received_at: Utc::now(),
            sent_at: props
                .timestamp()
                .and_then(|t| i64::try_from(t).ok())
                .and_then(|t| DateTime::from_timestamp(t, 0)),
            delivery_tag: delivery.delivery_tag,
            traceparent: headers.get("traceparent").or_else(|| headers.get("ce-traceparent")).cloned(),
        })
    }
}

/// Headers of a message as strings, for envelope decoding and for tools that show them.
pub fn headers_of(props: &BasicProperties) -> Headers {
    let mut out = Headers::new();
    if let Some(table) = props.headers() {
        for (k, v) in table.inner() {
            if let Some(s) = value_string(v) {
                out.insert(k.as_str().to_owned(), s);
            }
        }
    }
    out
}

fn value_string(v: &AMQPValue) -> Option<String> {
    Some(match v {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::ShortString(s) => s.as_str().to_owned(),
        AMQPValue::Boolean(b) => b.to_string(),
        AMQPValue::ShortShortInt(i) => i.to_string(),
        AMQPValue::ShortShortUInt(i) => i.to_string(),
        AMQPValue::ShortInt(i) => i.to_string(),
        AMQPValue::ShortUInt(i) => i.to_string(),
        AMQPValue::LongInt(i) => i.to_string(),
        AMQPValue::LongUInt(i) => i.to_string(),
        AMQPValue::LongLongInt(i) => i.to_string(),
        AMQPValue::Timestamp(t) => t.to_string(),
        AMQPValue::ByteArray(b) => String::from_utf8_lossy(b.as_slice()).into_owned(),
        _ => return None,
    })
}
