//! The message-at-a-time loop: bounded concurrency, ack after follow-ups are confirmed.

use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use lapin::message::Delivery;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::session::{End, Session};
use super::settle::{ack, requeue, Settler, Verdict};
use super::{ConsumerSpec, Handler, Message};
use crate::publisher::Publisher;

/// Consumes `spec.queue` with `handler` until `shutdown`; reconnects on its own.
/// On shutdown it stops taking deliveries, finishes and acks those in flight, and returns.
pub async fn run<H: Handler>(
    publisher: &Publisher,
    spec: ConsumerSpec,
    handler: Arc<H>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let broker = publisher.broker().clone();
    let settler = Settler::for_spec(publisher, &spec);
    let concurrency = spec.concurrency.max(1);
    let prefetch = broker.prefetch().max(u16::try_from(concurrency).unwrap_or(u16::MAX));
    loop {
        let Some(mut session) = Session::open(&broker, &spec.queue, prefetch, &shutdown).await else {
            return Ok(());
        };
        let end = consume(&mut session, &settler, &handler, concurrency, &shutdown).await;
        if end == End::Stopped {
            session.close().await;
            return Ok(());
        }
        tracing::warn!(queue = %spec.queue.service, "consume session lost; resuming on a new one");
    }
}

async fn consume<H: Handler>(
    session: &mut Session,
    settler: &Settler,
    handler: &Arc<H>,
    concurrency: usize,
    shutdown: &CancellationToken,
) -> End {
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut in_flight = JoinSet::new();
    let end = loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break End::Stopped,
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {},
            next = session.consumer.next() => match next {
                Some(Ok(delivery)) => {
                    let permit = tokio::select! {
                        p = permits.clone().acquire_owned() => p.expect("semaphore is never closed"),
                        () = shutdown.cancelled() => break End::Stopped,
                    };
                    let (settler, handler) = (settler.clone(), handler.clone());
                    in_flight.spawn(async move {
                        process(&settler, &*handler, delivery).await;
                        drop(permit);
                    });
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "delivery stream failed");
                    break End::Lost;
                }
                None => break End::Lost,
            },
        }
    };
    if end == End::Stopped {
        session.cancel().await;
    }
    // Graceful either way: work in flight finishes and tries to ack before the session goes.
    while in_flight.join_next().await.is_some() {}
    end
}

async fn process<H: Handler>(settler: &Settler, handler: &H, delivery: Delivery) {
    let metrics = settler.publisher.broker().metrics().clone();
    metrics.consumed.inc();
    let (message, verdict) = match Message::from_delivery(&delivery) {
        Err(error) => (None, Verdict::Malformed(error)),
        Ok(m) => {
            let span = message_span(&m);
            let started = Instant::now();
            let result = handler.handle(&m).instrument(span).await;
            metrics.handler_seconds.observe(started.elapsed().as_secs_f64());
            (Some(m), Verdict::Handled(result))
        }
    };
    let trace_id = message.as_ref().map(|m| m.envelope.trace_id().to_string()).unwrap_or_default();
    let outgoing = settler.outgoing(&delivery, message.as_ref(), verdict);
    match settler.publisher.send_all(outgoing).await {
        Ok(()) => {
            ack(&settler.publisher, &delivery.acker).await;
        }
        Err(error) => {
            tracing::warn!(trace_id = %trace_id, %error, "follow-up publish not confirmed; message goes back to the queue");
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            requeue(&delivery.acker).await;
        }
    }
}

/// The span every log line about a message carries: trace id, event type, message id, attempt.
/// Exported, it is a span under the span that sent the message.
pub(crate) fn message_span(m: &Message) -> tracing::Span {
    let span = tracing::info_span!(
        "message",
        trace_id = %m.envelope.trace_id(),
        event_type = %m.envelope.attributes.event_type,
        message_id = %m.message_id,
        retrace_intent = m.envelope.attributes.retrace_intent,
    );
    crate::telemetry::continue_trace(&span, m.envelope.trace_id(), m.traceparent.as_deref(), &m.message_id);
    span
}
