//! What becomes of a delivery once its handler answered: follow-ups, a delayed retry, or the
//! dead-letter queue (with a `failed` event), and then the ack.

use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::types::AMQPValue;
use lapin::Acker;
use lapin::BasicProperties;
use sha2::{Digest, Sha256};

use super::{HandlerError, Message};
use crate::envelope::{message_id_for_body, Envelope, EnvelopeError};
use crate::message_id;
use crate::publisher::{long, with_header, Outgoing, Publisher};
use crate::retry::RetryDecision;
use crate::topology::Topology;

/// The longest an ack or nack may wait to be sent. One asked for just as the connection dies
/// (a broker node killed) can otherwise wait forever for a frame lapin will never write, and
/// the session would never be replaced; the broker redelivers what was not acked either way.
pub(crate) const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Header naming the queue a dead-lettered message failed in.
pub const DEAD_QUEUE: &str = "x-eda-queue";
/// Header carrying the reason a message was dead-lettered.
pub const DEAD_ERROR: &str = "x-eda-error";
/// Header carrying when (RFC 3339 UTC) a message was dead-lettered.
pub const DEAD_FAILED_AT: &str = "x-eda-failed-at";

/// How a delivery was judged, before anything is published.
#[derive(Debug)]
pub(crate) enum Verdict {
    Malformed(EnvelopeError),
    Handled(Result<Vec<Envelope>, HandlerError>),
}

/// Turns verdicts into messages to publish for one consuming service.
#[derive(Clone, Debug)]
pub(crate) struct Settler {
    pub publisher: Publisher,
    pub service: String,
    pub emit_failed: bool,
}

impl Settler {
    /// The settler of the service that consumes `spec.queue`.
    pub fn for_spec(publisher: &Publisher, spec: &super::ConsumerSpec) -> Self {
        Settler {
            publisher: publisher.clone(),
            service: spec.queue.service.clone(),
            emit_failed: spec.emit_failed,
        }
    }

    /// The messages to publish (and have confirmed) before the delivery may be acked.
    pub fn outgoing(
        &self,
        delivery: &Delivery,
        message: Option<&Message>,
        verdict: Verdict,
    ) -> Vec<Outgoing> {
        let metrics = self.publisher.broker().metrics();
        match (verdict, message) {
            (Verdict::Malformed(error), _) => {
                metrics.dead("malformed");
                let reason = format!("malformed envelope: {error}");
                tracing::warn!(reason = %reason, "dead-lettering a malformed message");
                vec![self.dead(&delivery.data, &delivery.properties, None, &reason)]
            }
            (Verdict::Handled(_), None) => Vec::new(),
            (Verdict::Handled(Ok(follow_ups)), Some(m)) => follow_ups
                .iter()
                .enumerate()
                .map(|(i, env)| self.publisher.event_with_id(env, &follow_up_id(&m.message_id, env, i)))
                .collect(),
            (Verdict::Handled(Err(HandlerError::Permanent(reason))), Some(m)) => {
                metrics.dead("permanent");
                tracing::warn!(trace_id = %m.envelope.trace_id(), reason = %reason, "permanent failure: dead-lettering");
                self.give_up(delivery, m, &reason)
            }
            (Verdict::Handled(Err(HandlerError::Transient(reason))), Some(m)) => {
                let attempt = m.envelope.attributes.retrace_intent;
                let policy = self.publisher.broker().retry_policy();
                match policy.decide(attempt) {
                    RetryDecision::RetryAt { level, delay } => {
                        metrics.retried.inc();
                        tracing::info!(trace_id = %m.envelope.trace_id(), reason = %reason, attempt, level,
                            delay_ms = delay.as_millis() as u64, "transient failure: retrying later");
                        vec![self.retry(delivery, m, level)]
                    }
                    RetryDecision::GiveUp => {
                        metrics.dead("exhausted");
                        let reason = format!("gave up after {} retries: {reason}", policy.max_retries());
                        tracing::warn!(trace_id = %m.envelope.trace_id(), reason = %reason, "retries exhausted: dead-lettering");
                        self.give_up(delivery, m, &reason)
                    }
                }
            }
        }
    }

    fn give_up(&self, delivery: &Delivery, m: &Message, reason: &str) -> Vec<Outgoing> {
        let mut out = vec![self.dead(&delivery.data, &delivery.properties, Some(&m.message_id), reason)];
        if self.emit_failed {
            if let Some(failed) = self.failed_event(m, reason) {
                out.push(failed);
            }
        }
        out
    }

    /// The same message for the failing queue only, one attempt later, via the level's delay queue.
    fn retry(&self, delivery: &Delivery, m: &Message, level: usize) -> Outgoing {
        let topology = self.publisher.broker().topology();
        let next = m.envelope.next_attempt();
        let props = with_header(
            delivery.properties.clone(),
            "retrace_intent",
            AMQPValue::LongLongInt(i64::from(next.attributes.retrace_intent)),
        )
        .with_message_id(m.message_id.as_str().into())
        .with_content_type("application/json".into());
        Outgoing {
            exchange: topology.retry_exchange(),
            routing_key: topology.retry_queue(&self.service, level),
            body: next.to_json(),
            properties: props,
            mandatory: true,
        }
    }

    /// The message as it arrived, parked in `<prefix>.dead` with where, why and when.
    pub fn dead(
        &self,
        body: &[u8],
        props: &BasicProperties,
        message_id: Option<&str>,
        reason: &str,
    ) -> Outgoing {
        let topology = self.publisher.broker().topology();
        dead_letter(topology, &topology.service_queue(&self.service), body, props, message_id, reason)
    }

    /// `<company>.<service>.event.<client>.failed` with the reason, same trace id.
    fn failed_event(&self, m: &Message, reason: &str) -> Option<Outgoing> {
        let original = &m.envelope.attributes.event_type;
        // A failed `failed` event reports nothing new, and a service bound to `#` would loop on it.
        if original.action() == "failed" {
            return None;
        }
        let event_type = original.follow_up(&self.service, "failed").ok()?;
        let mut body = m.envelope.body.clone();
        body.insert("error".into(), reason.into());
        body.insert("failed_event_type".into(), original.to_string().into());
        body.insert("failed_message_id".into(), m.message_id.clone().into());
        let mut env = Envelope::new(event_type, m.envelope.trace_id(), body);
        env.attributes.retrace_intent = m.envelope.attributes.retrace_intent;
        env.metadata.publisher = Some(self.service.clone());
        let id = follow_up_id(&m.message_id, &env, 0);
        Some(self.publisher.event_with_id(&env, &id))
    }
}

/// A message as it arrived, parked in `<prefix>.dead` with `x-eda-queue` (where it failed),
/// `x-eda-error` (why, at most 4,000 bytes) and `x-eda-failed-at` (when). A message without a
/// message id gets `message_id` or else the SHA-256 of its body, so a replay keeps its identity.
pub fn dead_letter(
    topology: &Topology,
    failed_in: &str,
    body: &[u8],
    props: &BasicProperties,
    message_id: Option<&str>,
    reason: &str,
) -> Outgoing {
    let mut props = props.clone();
    props = with_header(props, DEAD_QUEUE, long(failed_in));
    props = with_header(props, DEAD_ERROR, long(&crate::text::excerpt(reason, 4000)));
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    props = with_header(props, DEAD_FAILED_AT, long(&now));
    if let Some(id) = message_id {
        props = props.with_message_id(id.into());
    } else if props.message_id().as_ref().is_none_or(|m| m.as_str().is_empty()) {
        props = props.with_message_id(message_id_for_body(body).as_str().into());
    }
    Outgoing {
        exchange: String::new(),
        routing_key: topology.dead_queue(),
        body: body.to_vec(),
        properties: props.with_delivery_mode(2),
        mandatory: true,
    }
}

/// A follow-up's message id derives from its cause, so a redelivered message yields the same
/// ids and downstream dedupe (dbwriter) sees duplicates, not new events.
fn follow_up_id(cause: &str, env: &Envelope, index: usize) -> String {
    let mut h = Sha256::new();
    h.update(cause.as_bytes());
    h.update(b"/");
    h.update(env.attributes.event_type.to_string().as_bytes());
    h.update(index.to_le_bytes());
    message_id::derived_from(cause, &h.finalize().into())
}

/// Acks one delivery; false (and counted) when the channel is gone and the broker will redeliver.
pub(crate) async fn ack(publisher: &Publisher, acker: &Acker) -> bool {
    let metrics = publisher.broker().metrics();
    match tokio::time::timeout(SETTLE_TIMEOUT, acker.ack(BasicAckOptions::default())).await {
        Ok(Ok(true)) => {
            metrics.acked.inc();
            true
        }
        Ok(Ok(false) | Err(_)) | Err(_) => {
            metrics.ack_failed.inc();
            tracing::warn!("ack not sent: the channel is closed; the broker will redeliver");
            false
        }
    }
}

/// Gives a delivery back to the broker for redelivery (its effects are idempotent).
pub(crate) async fn requeue(acker: &Acker) {
    let nack = acker.nack(BasicNackOptions { requeue: true, multiple: false });
    let _ = tokio::time::timeout(SETTLE_TIMEOUT, nack).await;
}
