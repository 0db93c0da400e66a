//! Publishing with publisher confirms: a publish is done when the broker confirmed it.
//! Every message carries the AMQP properties and headers of DESIGN.md §2.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::Confirmation;
use lapin::{BasicProperties, Channel};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::envelope::{cloudevent_headers, Envelope};
use crate::message_id;

/// The pause before publishing again what a failed channel left unconfirmed.
const FAIL_OVER_PAUSE: Duration = Duration::from_millis(100);

/// Why a publish is not done. Every variant is transient: publishing again may succeed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("broker unavailable: no connection within {0:?}")]
    Unavailable(Duration),
    #[error("broker refused the message (nack) for routing key {0}")]
    Nacked(String),
    #[error("no queue for routing key {0}: the broker returned the message")]
    Returned(String),
    #[error("publish to {0} not confirmed within {1:?}")]
    Timeout(String, Duration),
    #[error("channel failed while publishing to {0}: {1}")]
    Channel(String, lapin::Error),
}

impl PublishError {
    /// True when another try on the next connection may succeed before the timeout: the
    /// channel or connection failed, or the broker refused while a queue leader moved.
    fn may_fail_over(&self) -> bool {
        matches!(self, PublishError::Channel(..) | PublishError::Nacked(_))
    }
}

/// A message ready to go: where, what, and with which properties.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub exchange: String,
    pub routing_key: String,
    pub body: Vec<u8>,
    pub properties: BasicProperties,
    /// Ask the broker to return the message if no queue takes it (used for direct queue routes).
    pub mandatory: bool,
}

/// Publishes on one confirm-mode channel per connection; clones share it, many publishes in flight.
#[derive(Clone)]
pub struct Publisher {
    broker: Broker,
    channel: Arc<Mutex<Option<(u64, Channel)>>>,
    timeout: Duration,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher that gives up (with a transient error) after `timeout` without connection or confirm.
    pub fn new(broker: &Broker, timeout: Duration) -> Self {
        Publisher { broker: broker.clone(), channel: Arc::new(Mutex::new(None)), timeout }
    }

    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// The message for an envelope on `<prefix>.events` under its event type, with a fresh message id.
    pub fn event(&self, envelope: &Envelope) -> Outgoing {
        self.event_with_id(envelope, &message_id::fresh())
    }

    /// Like [`Publisher::event`] with a given message id (replays keep theirs).
    pub fn event_with_id(&self, envelope: &Envelope, message_id: &str) -> Outgoing {
        Outgoing {
            exchange: self.broker.topology().events_exchange(),
            routing_key: envelope.attributes.event_type.to_string(),
            body: envelope.to_json(),
            properties: envelope_properties(envelope, message_id, self.broker.service()),
            mandatory: false,
        }
    }

    /// Publishes an envelope to `<prefix>.events` and waits for the confirm; returns the message id.
    pub async fn publish(&self, envelope: &Envelope) -> Result<String, PublishError> {
        let out = self.event(envelope);
        let id = message_id_of(&out.properties);
        self.send(out).await?;
        Ok(id)
    }

    /// Publishes several messages with all confirms in flight at once; done when all are confirmed.
    /// What a lost connection or a nack left unconfirmed is sent again, on the connection the
    /// broker supervisor finds next (another node of a cluster), until the timeout.
    pub async fn send_all(&self, messages: Vec<Outgoing>) -> Result<(), PublishError> {
        let deadline = Instant::now() + self.timeout;
        let mut unconfirmed = messages;
        loop {
            if unconfirmed.is_empty() {
                return Ok(());
            }
            let (again, error) = self.attempt(unconfirmed, deadline).await;
            match error {
                None => return Ok(()),
                Some(e) if !e.may_fail_over() || Instant::now() >= deadline => return Err(e),
                Some(e) => {
                    tracing::debug!(error = %e, unconfirmed = again.len(), "publishing again after a failure");
                    unconfirmed = again;
                    // A fresh channel: a broker's channel can keep nacking for a quorum queue
                    // whose leader was on a node that died, where a new channel finds the new one.
                    self.channel.lock().await.take();
                    // Long enough for the supervisor to see a dead connection, so this is no busy loop.
                    tokio::time::sleep_until((Instant::now() + FAIL_OVER_PAUSE).min(deadline).into()).await;
                }
            }
        }
    }

    /// Publishes one message and waits for its confirm (failing over like [`Publisher::send_all`]).
    pub async fn send(&self, out: Outgoing) -> Result<(), PublishError> {
        self.send_all(vec![out]).await
    }

    /// One try at `messages` on the current channel: those to send again, and the first error.
    async fn attempt(
        &self,
        messages: Vec<Outgoing>,
        deadline: Instant,
    ) -> (Vec<Outgoing>, Option<PublishError>) {
        let channel = match self.channel(deadline).await {
            Ok(channel) => channel,
            Err(e) => return (messages, Some(e)),
        };
        let mut pending = Vec::with_capacity(messages.len());
        let mut again = Vec::new();
        let mut first_error = None;
        let mut messages = messages.into_iter();
        for out in messages.by_ref() {
            match self.start(&channel, &out).await {
                Ok(p) => pending.push((p, out)),
                Err(e) => {
                    // The channel is gone: the rest go on the next one.
                    again.push(out);
                    first_error.get_or_insert(e);
                    break;
                }
            }
        }
        again.extend(messages);
        for (p, out) in pending {
            if let Err(e) = self.finish(p, deadline).await {
                if e.may_fail_over() {
                    again.push(out);
                }
                first_error.get_or_insert(e);
            }
        }
        (again, first_error)
    }
    /// Sends `out` on `channel`; it is kept by the caller, to be sent again after a failure.
    async fn start(&self, channel: &Channel, out: &Outgoing) -> Result<Pending, PublishError> {
        let started = Instant::now();
        let options = BasicPublishOptions { mandatory: out.mandatory, ..Default::default() };
        let confirm = channel
            .basic_publish(
                out.exchange.as_str().into(),
                out.routing_key.as_str().into(),
                options,
                &out.body,
                out.properties.clone(),
            )
            .await
            .map_err(|e| {
                self.broker.metrics().publish_outcome("error");
                PublishError::Channel(out.exchange.clone(), e)
            })?;
        Ok(Pending { confirm, routing_key: out.routing_key.clone(), started })
    }

    async fn finish(&self, p: Pending, deadline: Instant) -> Result<(), PublishError> {
        let metrics = self.broker.metrics();
        let outcome = match tokio::time::timeout_at(deadline.into(), p.confirm).await {
            Err(_) => Err(("timeout", PublishError::Timeout(p.routing_key, self.timeout))),
            Ok(Err(e)) => Err(("error", PublishError::Channel(p.routing_key, e))),
            Ok(Ok(Confirmation::Ack(Some(_returned)))) => {
                Err(("returned", PublishError::Returned(p.routing_key)))
            }
            Ok(Ok(Confirmation::Ack(None))) => Ok(()),
            Ok(Ok(Confirmation::Nack(_))) => Err(("nacked", PublishError::Nacked(p.routing_key))),
            // Confirm mode is always selected on our channels; reaching this is a bug worth seeing.
            Ok(Ok(Confirmation::NotRequested)) => Err(("error", PublishError::Nacked(p.routing_key))),
        };
        metrics.publish_seconds.observe(p.started.elapsed().as_secs_f64());
        match outcome {
            Ok(()) => {
                metrics.publish_outcome("confirmed");
                Ok(())
            }
            Err((label, e)) => {
                metrics.publish_outcome(label);
                Err(e)
            }
        }
    }

    /// The confirm-mode channel of the current connection, opened on first use after a reconnect.
    async fn channel(&self, deadline: Instant) -> Result<Channel, PublishError> {
        // Wait for a connection before taking the slot: during an outage every publish waits
        // its own timeout side by side, not one after another.
        let stop = CancellationToken::new();
        let wait = self.broker.connected(&stop);
        let (generation, conn) = tokio::time::timeout_at(deadline.into(), wait)
            .await
            .ok()
            .flatten()
            .ok_or(PublishError::Unavailable(self.timeout))?;
        let mut slot = self.channel.lock().await;
        if let Some((g, ch)) = slot.as_ref() {
            if *g == generation && ch.status().connected() {
                return Ok(ch.clone());
            }
        }
        let opened = async {
            let ch = conn.create_channel().await?;
            ch.confirm_select(ConfirmSelectOptions::default()).await?;
            Ok::<_, lapin::Error>(ch)
        };
        match opened.await {
            Ok(ch) => {
                *slot = Some((generation, ch.clone()));
                Ok(ch)
            }
            Err(e) => {
                self.broker.report_broken(generation);
                Err(PublishError::Channel("confirm channel".into(), e))
            }
        }
    }
}

struct Pending {
    confirm: lapin::PublisherConfirm,
    routing_key: String,
    started: Instant,
}

/// The AMQP properties and headers every envelope is published with (DESIGN.md §2).
pub fn envelope_properties(envelope: &Envelope, message_id: &str, app_id: &str) -> BasicProperties {
    let attrs = &envelope.attributes;
    let trace_id = attrs.trace_id.to_string();
    let mut headers = FieldTable::default();
    headers.insert("trace_id".into(), long(&trace_id));
    headers.insert("retrace_intent".into(), AMQPValue::LongLongInt(i64::from(attrs.retrace_intent)));
    // Spans exported: the message goes on under the span that sends it (else the span id eda
    // derives from the message id, the same for every publish of it).
    let sending_span = crate::telemetry::current_traceparent(attrs.trace_id);
    for (name, mut value) in cloudevent_headers(envelope, message_id, app_id) {
        if name == "ce-traceparent" {
            if let Some(current) = &sending_span {
                value.clone_from(current);
            }
            // The same W3C value under both names, so OpenTelemetry and CloudEvents tools agree.
            headers.insert("traceparent".into(), long(&value));
        }
        headers.insert(name.as_str().into(), long(&value));
    }
    BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_message_id(message_id.into())
        .with_correlation_id(trace_id.as_str().into())
        .with_type(attrs.event_type.to_string().as_str().into())
        .with_timestamp(u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0))
        .with_app_id(app_id.into())
        .with_headers(headers)
}

/// Sets (or replaces) one header of a message's properties.
pub fn with_header(properties: BasicProperties, name: &str, value: AMQPValue) -> BasicProperties {
    let mut headers = properties.headers().clone().unwrap_or_default();
    headers.insert(ShortString::from(name), value);
    properties.with_headers(headers)
}

/// A string header value.
pub fn long(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

fn message_id_of(p: &BasicProperties) -> String {
    p.message_id().as_ref().map(|m| m.as_str().to_owned()).unwrap_or_default()
}
