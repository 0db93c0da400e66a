//! The status feed's queue: exclusive, auto-delete, server-named, bound to `<prefix>.events`
//! with `#` on the producer's own connection, opened again after every reconnect. A tap:
//! losing it loses nothing (dbwriter keeps the record), so it reads without retries or dead letters.

use eda_common::delivery::Message;
use eda_common::retry::Backoff;
use eda_common::Broker;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, Consumer};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::cache::TraceCache;
use super::entry::TimelineEntry;

/// The readiness check this feed reports (the portal's live status depends on it).
pub const READINESS_CHECK: &str = "status_feed";

/// Deliveries in flight to the producer: bounds the memory a flood can take on this side.
const PREFETCH: u16 = 500;
/// Deliveries acknowledged by one (multiple) ack; well below the prefetch, so the broker never stalls.
const ACK_EVERY: u16 = 64;
/// Messages the broker keeps for a stalled feed before dropping the oldest (bounds its side).
const MAX_QUEUED: i64 = 10_000;

/// Feeds `cache` from the events exchange until `shutdown`.
pub async fn run(broker: Broker, cache: TraceCache, shutdown: CancellationToken) {
    let readiness = broker.readiness().clone();
    readiness.set(READINESS_CHECK, false);
    let mut backoff = Backoff::retrying();
    // `connected` answers with a live connection even once `shutdown` is cancelled: check it first.
    while !shutdown.is_cancelled() {
        let Some((generation, conn)) = broker.connected(&shutdown).await else { break };
        let (channel, consumer) = match open(&broker, &conn).await {
            Ok(opened) => opened,
            Err(error) => {
                let delay = backoff.next_delay();
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "status feed: cannot open its queue");
                tokio::select! {
                    () = tokio::time::sleep(delay) => continue,
                    () = shutdown.cancelled() => break,
                }
            }
        };
        backoff.reset();
        readiness.set(READINESS_CHECK, true);
        tracing::info!(generation, "status feed consuming");
        consume(&broker, generation, consumer, &cache, &shutdown).await;
        readiness.set(READINESS_CHECK, false);
        let _ = channel.close(200, "status feed stopping".into()).await;
    }
    readiness.set(READINESS_CHECK, false);
    tracing::debug!("status feed stopped");
}

async fn open(broker: &Broker, conn: &Connection) -> Result<(Channel, Consumer), lapin::Error> {
    let channel = conn.create_channel().await?;
    channel.basic_qos(PREFETCH, BasicQosOptions::default()).await?;
    let mut arguments = FieldTable::default();
    arguments.insert("x-max-length".into(), AMQPValue::LongLongInt(MAX_QUEUED));
    let options = QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() };
    let queue = channel.queue_declare("".into(), options, arguments).await?;
    let exchange = broker.topology().events_exchange();
    channel
        .queue_bind(
            queue.name().clone(),
            exchange.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let consumer = channel
        .basic_consume(
            queue.name().clone(),
            "producer-status-feed".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok((channel, consumer))
}

/// Reads until the connection changes, the consumer ends, or shutdown.
async fn consume(
    broker: &Broker,
    generation: u64,
    mut consumer: Consumer,
    cache: &TraceCache,
    shutdown: &CancellationToken,
) {
    let mut link = broker.subscribe();
    let mut unacked = 0u16;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = link.changed() => {
                let current = link.borrow_and_update();
                if changed.is_err() || current.generation != generation || current.connection.is_none() {
                    tracing::debug!(generation, "status feed: connection changed");
                    return;
                }
            }
            delivery = consumer.next() => {
                let delivery = match delivery {
                    Some(Ok(delivery)) => delivery,
                    Some(Err(error)) => {
                        tracing::warn!(%error, "status feed: consumer failed");
                        return;
                    }
                    None => {
                        tracing::debug!("status feed: consumer ended");
                        return;
                    }
                };
                read(&delivery, cache);
                unacked += 1;
                // One ack frame covers a run of deliveries; the rest stay within the prefetch window.
                if unacked >= ACK_EVERY {
                    unacked = 0;
                    let _ = delivery.acker.ack(BasicAckOptions { multiple: true }).await;
                }
            }
        }
    }
}

/// Records a delivery, unless the cache already has it: the producer's own publishes come back
/// here, and the AMQP properties (trace id, message id) tell so without parsing the body.
fn read(delivery: &Delivery, cache: &TraceCache) {
    let props = &delivery.properties;
    let trace_id = props.correlation_id().as_ref().and_then(|c| Uuid::parse_str(c.as_str()).ok());
    let message_id = props.message_id().as_ref().map(|m| m.as_str());
    if let (Some(trace_id), Some(message_id)) = (trace_id, message_id) {
        if cache.contains(trace_id, message_id) {
            return;
        }
    }
    match Message::from_delivery(delivery) {
        Ok(m) => {
            cache.record(TimelineEntry::from_envelope(&m.envelope, &m.message_id));
        }
        // Dead-lettering is the consuming services' job; the feed only shows what it can read.
        Err(error) => tracing::debug!(%error, "status feed: skipped an unreadable message"),
    }
}
