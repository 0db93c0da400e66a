//! The batch loop: collect up to `max_size` deliveries or `max_wait`, hand them over at once,
//! publish retries and dead letters, then ack the whole batch with one multiple-ack.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use tokio_util::sync::CancellationToken;

use super::session::{End, Session};
use super::settle::{Settler, Verdict};
use super::{BatchHandler, BatchSpec, ConsumerSpec, HandlerError, Message};
use crate::publisher::Publisher;
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
    let settler = Settler {
        publisher: publisher.clone(),
        service: spec.queue.service.clone(),
        emit_failed: spec.emit_failed,
    };
    let max_size = batch.max_size.max(1);
    // Room for the next batch to arrive while this one is written.
    let prefetch = broker.prefetch().max(u16::try_from(max_size.saturating_mul(2)).unwrap_or(u16::MAX));
    loop {
        let Some(mut session) = Session::open(&broker, &spec.queue, prefetch, &shutdown).await else {
            return Ok(());
        };
        let end = loop {
            let (deliveries, lost) = collect(&mut session, max_size, batch.max_wait, &shutdown).await;
            if !deliveries.is_empty() {
                if let Some(end) = settle_batch(&session, &settler, &*handler, deliveries, &shutdown).await {
                    break end;
                }
            }
            if let Some(end) = lost {
                break end;
            }
        };
        if end == End::Stopped {
            session.close().await;
            return Ok(());
        }
        tracing::warn!(queue = %spec.queue.service, "consume session lost; resuming on a new one");
    }
}

/// Waits for a first delivery, then gathers more until full or `max_wait` after the first.
async fn collect(
    session: &mut Session,
    max_size: usize,
    max_wait: Duration,
    shutdown: &CancellationToken,
) -> (Vec<Delivery>, Option<End>) {
    let mut batch = Vec::new();
    let first = tokio::select! {
        // Shutdown first: once asked to stop, no new batch starts even if deliveries wait.
        biased;
        () = shutdown.cancelled() => return (batch, Some(End::Stopped)),
        next = session.consumer.next() => next,
    };
    match first {
        Some(Ok(d)) => batch.push(d),
        Some(Err(error)) => {
            tracing::warn!(%error, "delivery stream failed");
            return (batch, Some(End::Lost));
        }
        None => return (batch, Some(End::Lost)),
    }
    let deadline = tokio::time::Instant::now() + max_wait;
    while batch.len() < max_size {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => break,
            next = session.consumer.next() => match next {
                Some(Ok(d)) => batch.push(d),
                Some(Err(_)) | None => return (batch, Some(End::Lost)),
            },
        }
    }
    (batch, None)
}

/// Handles, publishes what must be published, acks. `Some(end)` when the session must end.
async fn settle_batch<H: BatchHandler>(
    session: &Session,
    settler: &Settler,
    handler: &H,
    deliveries: Vec<Delivery>,
    shutdown: &CancellationToken,
) -> Option<End> {
    let metrics = settler.publisher.broker().metrics().clone();
    metrics.consumed.inc_by(deliveries.len() as u64);
    metrics.batch_size.observe(deliveries.len() as f64);
    let mut outgoing = Vec::new();
    let mut good = Vec::with_capacity(deliveries.len());
    let mut messages = Vec::with_capacity(deliveries.len());
    for d in &deliveries {
        match Message::from_delivery(d) {
            Ok(m) => {
                good.push(d);
                messages.push(m);
            }
            Err(error) => outgoing.extend(settler.outgoing(d, None, Verdict::Malformed(error))),
        }
    }

    if !messages.is_empty() {
        let Some(results) = handle_until_done(handler, &messages, shutdown, &metrics).await else {
            // Shutdown during an outage: nothing acked, the broker keeps the whole batch.
            return Some(End::Stopped);
        };
        for ((d, m), result) in good.into_iter().zip(&messages).zip(results) {
            let result = result.map(|()| Vec::new());
            outgoing.extend(settler.outgoing(d, Some(m), Verdict::Handled(result)));
        }
    }

    let last_tag = deliveries.last().map(|d| d.delivery_tag).unwrap_or_default();
    if let Err(error) = settler.publisher.send_all(outgoing).await {
        tracing::warn!(%error, "retry or dead-letter publish not confirmed; the batch goes back to the queue");
        let nack = BasicNackOptions { multiple: true, requeue: true };
        let _ = session.channel.basic_nack(last_tag, nack).await;
        return Some(End::Lost);
    }
    match session.channel.basic_ack(last_tag, BasicAckOptions { multiple: true }).await {
        Ok(()) => {
            metrics.acked.inc_by(deliveries.len() as u64);
            None
        }
        Err(error) => {
            metrics.ack_failed.inc_by(deliveries.len() as u64);
            tracing::warn!(%error, "batch ack not sent: the channel is closed; the broker will redeliver");
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
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
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
