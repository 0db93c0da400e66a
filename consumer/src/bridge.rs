//! `consumer bridge --from QUEUE`: drains a legacy queue (the old system's `infra`, default
//! exchange) into `<prefix>.events` under each message's own event type, with confirms, so
//! unchanged legacy publishers join the suite. A message is acked only once its copy (or, when
//! malformed, its dead letter) is confirmed.

use std::time::Duration;

use eda_common::delivery::{dead_letter, Message};
use eda_common::retry::Backoff;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use tokio_util::sync::CancellationToken;

use crate::config::BridgeArgs;
use crate::error::{Error, Result};
use eda_common::service::Service;

/// How a bridge session ended.
enum End {
    Stopped,
    Lost(String),
}

/// Moves messages from `args.from` until `shutdown`, reconnecting on its own.
pub async fn run(rt: &Service, args: &BridgeArgs, shutdown: CancellationToken) -> Result<()> {
    if args.from.trim().is_empty() {
        return Err(Error::Usage("--from needs a queue name".into()));
    }
    let mut backoff = Backoff::retrying();
    loop {
        let Some((generation, conn)) = rt.broker.connected(&shutdown).await else { return Ok(()) };
        let reason = match session(rt, &conn, &args.from, &shutdown).await {
            Ok(End::Stopped) => return Ok(()),
            Ok(End::Lost(reason)) => reason,
            Err(e) => e.to_string(),
        };
        rt.health.readiness.set("bridge", false);
        if !conn.status().connected() {
            rt.broker.report_broken(generation);
        }
        let delay = backoff.next_delay();
        tracing::warn!(queue = %args.from, %reason, retry_in_ms = delay.as_millis() as u64, "bridge session lost");
        tokio::select! {
            () = tokio::time::sleep(delay) => {},
            () = shutdown.cancelled() => return Ok(()),
        }
    }
}

async fn session(rt: &Service, conn: &Connection, queue: &str, shutdown: &CancellationToken) -> Result<End> {
    let channel = open_legacy_queue(conn, queue).await?;
    channel
        .basic_qos(rt.broker.prefetch(), BasicQosOptions::default())
        .await
        .map_err(Error::amqp("setting the prefetch"))?;
    let mut deliveries = channel
        .basic_consume(
            queue.into(),
            "eda-bridge".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(Error::amqp(format!("consuming {queue}")))?;
    rt.health.readiness.set("bridge", true);
    tracing::info!(queue, to = %rt.broker.topology().events_exchange(), "bridging");
    loop {
        let delivery = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            next = deliveries.next() => match next {
                Some(Ok(d)) => d,
                Some(Err(e)) => return Ok(End::Lost(e.to_string())),
                None => return Ok(End::Lost("the consumer was cancelled".into())),
            },
        };
        if !forward(rt, queue, &delivery).await {
            return Ok(End::Lost("an ack could not be sent".into()));
        }
    }
    // Unacked deliveries (none: each is settled before the next) return to the queue on close.
    let _ = channel.close(200, "bridge stopping".into()).await;
    Ok(End::Stopped)
}

/// Declares the legacy queue as its publishers expect (durable, classic, no arguments), or
/// uses it as it is when it already exists with other arguments.
async fn open_legacy_queue(conn: &Connection, queue: &str) -> Result<Channel> {
    let channel = conn.create_channel().await.map_err(Error::amqp("opening a channel"))?;
    let durable = QueueDeclareOptions { durable: true, ..Default::default() };
    if channel.queue_declare(queue.into(), durable, FieldTable::default()).await.is_ok() {
        return Ok(channel);
    }
    // A mismatch (PRECONDITION_FAILED) closes the channel; look the queue up on a fresh one.
    let channel = conn.create_channel().await.map_err(Error::amqp("opening a channel"))?;
    let passive = QueueDeclareOptions { passive: true, ..Default::default() };
    channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await
        .map_err(Error::amqp(format!("declaring the legacy queue {queue}")))?;
    Ok(channel)
}

/// Publishes one legacy message (or its dead letter), then acks; false when the ack was lost.
async fn forward(rt: &Service, queue: &str, delivery: &Delivery) -> bool {
    let metrics = rt.broker.metrics();
    metrics.consumed.inc();
    let (out, trace_id) = match Message::from_delivery(delivery) {
        Ok(m) => (rt.publisher.event_with_id(&m.envelope, &m.message_id), m.envelope.trace_id().to_string()),
        Err(error) => {
            metrics.dead("malformed");
            let reason = format!("malformed envelope: {error}");
            tracing::warn!(queue, %reason, "dead-lettering a malformed legacy message");
            // Parked with the legacy queue as its origin, so a replay goes back there.
            let topology = rt.broker.topology();
            (dead_letter(topology, queue, &delivery.data, &delivery.properties, None, &reason), String::new())
        }
    };
    if let Err(error) = rt.publisher.send(out).await {
        tracing::warn!(trace_id, %error, "bridged copy not confirmed; the message goes back to the queue");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let requeue = BasicNackOptions { requeue: true, multiple: false };
        return delivery.acker.nack(requeue).await.is_ok();
    }
    tracing::debug!(trace_id, "bridged");
    match delivery.acker.ack(BasicAckOptions::default()).await {
        Ok(true) => {
            metrics.acked.inc();
            true
        }
        // Redelivered later: the copy has the same message id, so consumers drop the duplicate.
        _ => {
            metrics.ack_failed.inc();
            false
        }
    }
}
