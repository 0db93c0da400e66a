//! What a dead letter says about itself: where and why it failed, when, and which event it is.

use eda_common::delivery::{headers_of, DEAD_ERROR, DEAD_FAILED_AT, DEAD_QUEUE};
use eda_common::Envelope;
use lapin::message::Delivery;
use serde::Serialize;
use uuid::Uuid;

/// One message of `<prefix>.dead`, as the tools show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    /// `x-eda-failed-at`.
    pub failed_at: Option<String>,
    /// `x-eda-queue`: where it failed, and where a replay sends it.
    pub queue: Option<String>,
    pub event_type: Option<String>,
    pub trace_id: Option<Uuid>,
    /// `x-eda-error`.
    pub reason: Option<String>,
    pub message_id: Option<String>,
}

impl DeadLetter {
    /// Reads the headers, and the envelope when it decodes (malformed ones still show their headers).
    pub fn read(delivery: &Delivery) -> DeadLetter {
        let props = &delivery.properties;
        let headers = headers_of(props);
        let content_type = props.content_type().as_ref().map(|c| c.as_str());
        let envelope = Envelope::decode(&delivery.data, content_type, &headers).ok().map(|d| d.envelope);
        let event_type = envelope
            .as_ref()
            .map(|e| e.event_type().to_string())
            .or_else(|| props.kind().as_ref().map(|t| t.as_str().to_owned()));
        let trace_id = envelope.as_ref().map(Envelope::trace_id).or_else(|| {
            headers
                .get("trace_id")
                .map(String::as_str)
                .or(props.correlation_id().as_ref().map(|c| c.as_str()))
                .and_then(|s| Uuid::parse_str(s).ok())
        });
        DeadLetter {
            failed_at: headers.get(DEAD_FAILED_AT).cloned(),
            queue: headers.get(DEAD_QUEUE).cloned(),
            event_type,
            trace_id,
            reason: headers.get(DEAD_ERROR).cloned(),
            message_id: props.message_id().as_ref().map(|m| m.as_str().to_owned()),
        }
    }
}
