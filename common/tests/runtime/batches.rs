use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eda_common::delivery::{self, BatchHandler, BatchSpec, ConsumerSpec, HandlerError, Message};
use tokio::sync::{mpsc, Notify};

use crate::helpers::*;

/// Records message ids per batch; the first batch waits at a gate so a test can stop mid-batch.
struct Gated {
    batches: mpsc::UnboundedSender<Vec<String>>,
    entered: Arc<Notify>,
    gate: Arc<Notify>,
    gated: Mutex<bool>,
    reject_client: Option<String>,
}

impl BatchHandler for Gated {
    async fn handle_batch(
        &self,
        messages: &[Message],
    ) -> Result<Vec<Result<(), HandlerError>>, HandlerError> {
        let wait = std::mem::take(&mut *self.gated.lock().unwrap());
        if wait {
            self.entered.notify_one();
            self.gate.notified().await;
        }
        let _ = self.batches.send(messages.iter().map(|m| m.message_id.clone()).collect());
        Ok(messages
            .iter()
            .map(|m| match &self.reject_client {
                Some(c) if m.envelope.body_str("client") == Some(c) => {
                    Err(HandlerError::permanent("rejected by test"))
                }
                _ => Ok(()),
            })
            .collect())
    }
}

fn gated(
    wait: bool,
    reject_client: Option<&str>,
) -> (Arc<Gated>, mpsc::UnboundedReceiver<Vec<String>>, Arc<Notify>, Arc<Notify>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (entered, gate) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let g = Gated {
        batches: tx,
        entered: entered.clone(),
        gate: gate.clone(),
        gated: Mutex::new(wait),
        reject_client: reject_client.map(str::to_owned),
    };
    (Arc::new(g), rx, entered, gate)
}

/// Publishes `total` orders, for clients `c0` to `c<total-1>`, in that order.
async fn publish_orders(h: &Harness, total: usize) {
    let msgs: Vec<_> = (0..total).map(|i| h.publisher.event(&order(&format!("c{i}")))).collect();
    h.publisher.send_all(msgs).await.unwrap();
}

/// Starts a new instance that must get every message not in `seen`, each once (none of `seen`
/// again), until `total` are seen; stops it and checks the queue is empty.
async fn a_new_instance_handles_the_rest_once(
    h: &Harness,
    spec: ConsumerSpec,
    batch: BatchSpec,
    mut seen: HashSet<String>,
    total: usize,
) {
    let again = tokio_util::sync::CancellationToken::new();
    let (handler, mut batches, _, _) = gated(false, None);
    let (p, s) = (h.publisher.clone(), again.clone());
    let run = tokio::spawn(async move { delivery::run_batches(&p, spec, batch, handler, s).await });
    while seen.len() < total {
        let b = tokio::time::timeout(WAIT, batches.recv()).await.expect("the rest delivered").unwrap();
        for id in b {
            assert!(seen.insert(id), "a message was handled twice");
        }
    }
    again.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("batcher")).await, 0);
}

#[tokio::test]
async fn sigterm_mid_batch_finishes_and_acks_that_batch_and_loses_nothing() {
    let h = Harness::new("batcher").await;
    let spec = h.spec("batcher", &["#"]);
    h.declare(&spec).await;
    let total = 120;
    publish_orders(&h, total).await;

    let batch = BatchSpec { max_size: 50, max_wait: Duration::from_millis(200), in_flight: 1 };
    let (handler, mut batches, entered, gate) = gated(true, None);
    let (p, s, sp) = (h.publisher.clone(), h.shutdown.clone(), spec.clone());
    let run = tokio::spawn(async move { delivery::run_batches(&p, sp, batch, handler, s).await });
    tokio::time::timeout(WAIT, entered.notified()).await.expect("first batch started");
    h.shutdown.cancel(); // SIGTERM arrives while the batch is being written
    gate.notify_one();
    run.await.unwrap().unwrap();
    let first = batches.recv().await.expect("the in-flight batch finished");
    assert!(batches.try_recv().is_err(), "no new batch after the signal");
    let seen: HashSet<String> = first.iter().cloned().collect();
    assert_eq!(seen.len(), first.len());
    assert!(!first.is_empty() && first.len() <= 50);

    // A new instance drains the rest: the finished batch was acked (never seen again), the
    // unfinished rest was kept (every other id arrives), and nothing is handled twice.
    a_new_instance_handles_the_rest_once(&h, spec, batch, seen, total).await;
    h.finish().await;
}

#[tokio::test]
async fn one_bad_message_in_a_batch_is_dead_lettered_and_the_rest_are_acked() {
    let h = Harness::new("batcher").await;
    let mut spec = h.spec("batcher", &["#"]);
    // Like dbwriter: a batch consumer bound to `#` would receive its own `failed` events.
    spec.emit_failed = false;
    h.declare(&spec).await;
    let mut msgs: Vec<_> = (0..9).map(|i| h.publisher.event(&order(&format!("c{i}")))).collect();
    msgs.push(h.publisher.event(&order("poison")));
    h.publisher.send_all(msgs).await.unwrap();
    h.t.publish(&h.t.name("events"), "mycompany.x.event.y.published", b"{not json", Default::default()).await;

    let batch = BatchSpec { max_size: 11, max_wait: Duration::from_secs(2), in_flight: 2 };
    let (handler, mut batches, _, _) = gated(false, Some("poison"));
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let run = tokio::spawn(async move { delivery::run_batches(&p, spec, batch, handler, s).await });
    let dead = h.t.take(&h.t.name("dead"), 2, WAIT).await;
    let reasons: Vec<_> =
        dead.iter().map(|d| eda_tests::broker::headers(d)[delivery::DEAD_ERROR].clone()).collect();
    assert!(reasons.iter().any(|r| r == "rejected by test"), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("malformed envelope")), "{reasons:?}");
    let mut handled = 0;
    while handled < 10 {
        handled += tokio::time::timeout(WAIT, batches.recv()).await.unwrap().unwrap().len();
    }
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("batcher")).await, 0, "the good messages were acked");
    h.finish().await;
}

/// Fails (as an outage) every batch holding client `c0`'s message; sends the others' ids.
struct FirstBatchDown {
    batches: mpsc::UnboundedSender<Vec<String>>,
}

impl BatchHandler for FirstBatchDown {
    async fn handle_batch(
        &self,
        messages: &[Message],
    ) -> Result<Vec<Result<(), HandlerError>>, HandlerError> {
        if messages.iter().any(|m| m.envelope.body_str("client") == Some("c0")) {
            return Err(HandlerError::transient("database down for this batch"));
        }
        let _ = self.batches.send(messages.iter().map(|m| m.message_id.clone()).collect());
        Ok(messages.iter().map(|_| Ok(())).collect())
    }
}

#[tokio::test]
async fn a_later_batch_that_finishes_first_is_not_acked_before_the_earlier_one() {
    let h = Harness::new("batcher").await;
    let spec = h.spec("batcher", &["#"]);
    h.declare(&spec).await;
    let total = 100;
    publish_orders(&h, total).await;

    // The first batch (it holds c0, delivered first) keeps failing; the second, in flight
    // beside it, is handled. Stopping now must ack neither: acking the second would ack it
    // ahead of the first, and a multiple-ack would take the first along.
    let batch = BatchSpec { max_size: 30, max_wait: Duration::from_millis(50), in_flight: 2 };
    let (tx, mut handled) = mpsc::unbounded_channel();
    let handler = Arc::new(FirstBatchDown { batches: tx });
    let (p, s, sp) = (h.publisher.clone(), h.shutdown.clone(), spec.clone());
    let run = tokio::spawn(async move { delivery::run_batches(&p, sp, batch, handler, s).await });
    tokio::time::timeout(WAIT, handled.recv()).await.expect("a second batch was handled").unwrap();
    h.shutdown.cancel();
    run.await.unwrap().unwrap();

    // A new instance gets every message again, the handled second batch included, each once.
    a_new_instance_handles_the_rest_once(&h, spec, batch, HashSet::new(), total).await;
    h.finish().await;
}
