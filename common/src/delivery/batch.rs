//! The batch loop, a group commit: deliveries gather (up to `max_size`) while the handler writes
//! earlier batches; a batch is handed over as soon as a slot is free (`in_flight` batches are
//! written at once, each in its own call), with every delivery already waiting in the prefetch
//! buffer. Under load batches fill up on their own; at a low rate a message waits for one
//! write, never for a timer, so `max_wait` is always met. Deliveries are gathered and decoded
//! while the handler is busy (on a short tick, not a wake-up per message), so decoding is off
//! the write's critical path. Batches are settled (dead letters published, then one
//! multiple-ack) strictly in delivery order, whichever finished first.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::FuturesOrdered;
use futures_util::{Future, FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::Channel;
use tokio_util::sync::CancellationToken;

use super::session::{End, Session};
use super::settle::{Settler, Verdict, SETTLE_TIMEOUT};
use super::{BatchHandler, BatchSpec, ConsumerSpec, HandlerError, Message};
use crate::envelope::EnvelopeError;
use crate::publisher::{Outgoing, Publisher};
use crate::retry::Backoff;

/// Consumes `spec.queue` in batches with `handler` until `shutdown`; reconnects on its own.
/// A whole-batch `Err` (an outage) keeps the batch unacked and offers it again after a backoff.
pub async fn run_batches<H: BatchHandler>(
    publisher: &Publisher,
    spec: ConsumerSpec,
    batch: BatchSpec,
    handler: Arc<H>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let broker = publisher.broker().clone();
    let settler = Settler::for_spec(publisher, &spec);
    let batch = BatchSpec { max_size: batch.max_size.max(1), in_flight: batch.in_flight.max(1), ..batch };
    // Room for the next batch to arrive while the batches in flight are written.
    let room = batch.max_size.saturating_mul(batch.in_flight + 1);
    let prefetch = broker.prefetch().max(u16::try_from(room).unwrap_or(u16::MAX));
    loop {
        let Some(mut session) = Session::open(&broker, &spec.queue, prefetch, &shutdown).await else {
            return Ok(());
        };
        let end = consume(&mut session, &settler, &*handler, batch, &shutdown).await;
        if end == End::Stopped {
            session.close().await;
            return Ok(());
        }
        tracing::warn!(queue = %spec.queue.service, "consume session lost; resuming on a new one");
    }
}

type Handling<'a> = Pin<Box<dyn Future<Output = Option<Handled>> + Send + 'a>>;

/// How often deliveries are gathered (and decoded) while the handler writes a batch.
const GATHER_TICK: Duration = Duration::from_millis(2);

/// A delivery and what decoding it gave, decoded the moment it arrived.
type Decoded = (Delivery, Result<Message, EnvelopeError>);

fn decoded(delivery: Delivery) -> Decoded {
    let message = Message::from_delivery(&delivery);
    (delivery, message)
}

/// A handled batch, waiting for its turn to be settled.
struct Handled {
    /// Dead letters, retries and follow-ups to have confirmed before the ack.
    outgoing: Vec<Outgoing>,
    last_tag: u64,
    count: u64,
}

/// One session's group-commit loop; returns how it ended, with no batch left half-settled.
async fn consume<'a, H: BatchHandler>(
    session: &mut Session,
    settler: &'a Settler,
    handler: &'a H,
    batch: BatchSpec,
    shutdown: &'a CancellationToken,
) -> End {
    let mut next: Vec<Decoded> = Vec::with_capacity(batch.max_size);
    let mut handling: FuturesOrdered<Handling<'a>> = FuturesOrdered::new();
    let mut lost = false;
    loop {
        // Take what already waits in the prefetch buffer, without waiting for more.
        while !lost && next.len() < batch.max_size {
            match session.consumer.next().now_or_never() {
                Some(Some(Ok(d))) => next.push(decoded(d)),
                Some(Some(Err(_)) | None) => lost = true,
                None => break,
            }
        }
        let stopping = shutdown.is_cancelled();
        if lost || stopping {
            if handling.is_empty() {
                // What was gathered but not handed over is never acked: the broker keeps it.
                return if stopping { End::Stopped } else { End::Lost };
            }
        } else if handling.len() < batch.in_flight && !next.is_empty() {
            let deliveries = std::mem::replace(&mut next, Vec::with_capacity(batch.max_size));
            handling.push_back(Box::pin(handle_batch(settler, handler, deliveries, shutdown)));
        }
        let busy = !handling.is_empty();
        tokio::select! {
            biased;
            handled = handling.next(), if busy => {
                // `None` is shutdown during an outage: nothing more is acked, the broker keeps it.
                let Some(handled) = handled.flatten() else { return End::Stopped };
                if let Some(end) = settle(&session.channel, settler, handled).await {
                    return end;
                }
            }
            () = shutdown.cancelled(), if !busy => {}
            // While batches are written, gather on a tick rather than on every delivery: one
            // wake-up per tick instead of one thread switch per message.
            () = tokio::time::sleep(GATHER_TICK), if busy && !lost && !stopping && next.len() < batch.max_size => {}
            delivery = session.consumer.next(), if !busy && !lost && !stopping => match delivery {
                Some(Ok(d)) => next.push(decoded(d)),
                Some(Err(error)) => {
                    tracing::warn!(%error, "delivery stream failed");
                    lost = true;
                }
                None => lost = true,
            },
        }
    }
}

/// Hands the decodable messages to the handler and turns every verdict into what must be
/// published before the ack. `None` when shutdown came during an outage.
async fn handle_batch<H: BatchHandler>(
    settler: &Settler,
    handler: &H,
    deliveries: Vec<Decoded>,
    shutdown: &CancellationToken,
) -> Option<Handled> {
    let metrics = settler.publisher.broker().metrics().clone();
    metrics.consumed.inc_by(deliveries.len() as u64);
    metrics.batch_size.observe(deliveries.len() as f64);
    let mut outgoing = Vec::new();
    let mut good = Vec::with_capacity(deliveries.len());
    let mut messages = Vec::with_capacity(deliveries.len());
    let last_tag = deliveries.last().map(|(d, _)| d.delivery_tag).unwrap_or_default();
    let count = deliveries.len() as u64;
    for (d, decoded) in deliveries {
        match decoded {
            Ok(m) => {
                good.push(d);
                messages.push(m);
            }
            Err(error) => outgoing.extend(settler.outgoing(&d, None, Verdict::Malformed(error))),
        }
    }
    if !messages.is_empty() {
        // Exported, each message of the batch has its span in its own trace, open while the
        // batch is handled (not entered: one task serves them all).
        let _spans: Vec<tracing::Span> = if crate::telemetry::exporting() {
            messages.iter().map(super::single::message_span).collect()
        } else {
            Vec::new()
        };
        let results = handle_until_done(handler, &messages, shutdown, &metrics).await?;
        for ((d, m), result) in good.into_iter().zip(&messages).zip(results) {
            let result = result.map(|()| Vec::new());
            outgoing.extend(settler.outgoing(&d, Some(m), Verdict::Handled(result)));
        }
    }
    Some(Handled { outgoing, last_tag, count })
}

/// Publishes what the batch must publish, then acks it. `Some(end)` when the session must end.
async fn settle(channel: &Channel, settler: &Settler, handled: Handled) -> Option<End> {
    let Handled { outgoing, last_tag, count } = handled;
    let metrics = settler.publisher.broker().metrics();
    if let Err(error) = settler.publisher.send_all(outgoing).await {
        tracing::warn!(%error, "retry or dead-letter publish not confirmed; the batch goes back to the queue");
        let nack = BasicNackOptions { multiple: true, requeue: true };
        let _ = tokio::time::timeout(SETTLE_TIMEOUT, channel.basic_nack(last_tag, nack)).await;
        return Some(End::Lost);
    }
    let acked =
        tokio::time::timeout(SETTLE_TIMEOUT, channel.basic_ack(last_tag, BasicAckOptions { multiple: true }));
    match acked.await {
        Ok(Ok(())) => {
            metrics.acked.inc_by(count);
            None
        }
        Ok(Err(error)) => {
            metrics.ack_failed.inc_by(count);
            tracing::warn!(%error, "batch ack not sent: the channel is closed; the broker will redeliver");
            Some(End::Lost)
        }
        Err(_) => {
            metrics.ack_failed.inc_by(count);
            tracing::warn!(
                timeout_ms = SETTLE_TIMEOUT.as_millis() as u64,
                "batch ack not sent in time: the connection is gone; the broker will redeliver"
            );
            Some(End::Lost)
        }
    }
}

/// Offers the batch until the handler answers per message; backs off during an outage.
/// `None` (stop) if shutdown comes first: nothing is acked and the broker keeps every message.
async fn handle_until_done<H: BatchHandler>(
    handler: &H,
    messages: &[Message],
    shutdown: &CancellationToken,
    metrics: &crate::metrics::Metrics,
) -> Option<Vec<Result<(), HandlerError>>> {
    let mut backoff = Backoff::retrying();
    loop {
        let started = Instant::now();
        let answer = handler.handle_batch(messages).await;
        metrics.handler_seconds.observe(started.elapsed().as_secs_f64());
        match answer {
            Ok(results) if results.len() == messages.len() => return Some(results),
            Ok(results) => {
                let reason = format!(
                    "batch handler answered {} results for {} messages",
                    results.len(),
                    messages.len()
                );
                return Some(messages.iter().map(|_| Err(HandlerError::Transient(reason.clone()))).collect());
            }
            Err(HandlerError::Permanent(reason)) => {
                return Some(messages.iter().map(|_| Err(HandlerError::Permanent(reason.clone()))).collect());
            }
            Err(HandlerError::Transient(reason)) => {
                let delay = backoff.next_delay();
                tracing::warn!(%reason, batch = messages.len(), retry_in_ms = delay.as_millis() as u64,
                    "batch not handled; keeping it unacked and trying again");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {},
                    () = shutdown.cancelled() => return None,
                }
            }
        }
    }
}
