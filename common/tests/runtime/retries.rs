use eda_common::delivery::{self, HandlerError};

use crate::helpers::*;
use crate::publishing::wait_for_queue;

#[tokio::test]
async fn a_handler_that_fails_twice_is_retried_with_retrace_intent_one_then_two_and_acked_once() {
    let h = Harness::new("worker").await;
    let (handler, mut seen) = Scripted::new(vec![
        Err(HandlerError::transient("database unavailable")),
        Err(HandlerError::transient("database unavailable")),
    ]);
    let spec = h.spec("worker", &["*.*.event.*.published"]);
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let run = tokio::spawn(async move { delivery::run(&p, spec, handler, s).await });
    wait_for_queue(&h, "worker").await;
    let env = order("cliente02");
    let id = h.publisher.publish(&env).await.unwrap();

    let attempts: Vec<_> = [
        next_seen(&mut seen, "attempt 0").await,
        next_seen(&mut seen, "attempt 1").await,
        next_seen(&mut seen, "attempt 2").await,
    ]
    .into_iter()
    .map(|m| {
        assert_eq!(m.message_id, id, "a retry keeps the message id");
        assert_eq!(m.envelope.trace_id(), env.trace_id(), "and the trace id");
        m.envelope.attributes.retrace_intent
    })
    .collect();
    assert_eq!(attempts, vec![0, 1, 2]);

    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert!(seen.try_recv().is_err(), "succeeded once: no further delivery");
    assert_eq!(h.t.queue_len(&h.t.name("worker")).await, 0, "the successful delivery was acked");
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    assert_eq!(h.health.metrics.retried.get(), 2);
    h.finish().await;
}

#[tokio::test]
async fn a_retry_goes_back_only_to_the_queue_that_failed() {
    let h = Harness::new("flaky").await;
    h.t.track_service("steady", 2);
    let (flaky, mut flaky_seen) = Scripted::new(vec![Err(HandlerError::transient("busy"))]);
    let (steady, mut steady_seen) = Scripted::new(vec![]);
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let spec = h.spec("flaky", &["#"]);
    let a = tokio::spawn(async move { delivery::run(&p, spec, flaky, s).await });
    wait_for_queue(&h, "flaky").await;
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let mut spec = h.spec("steady", &["#"]);
    spec.emit_failed = false;
    let b = tokio::spawn(async move { delivery::run(&p, spec, steady, s).await });
    h.declare(&h.spec("steady", &["#"])).await;
    h.publisher.publish(&order("cliente03")).await.unwrap();

    assert_eq!(next_seen(&mut flaky_seen, "flaky first").await.envelope.attributes.retrace_intent, 0);
    assert_eq!(next_seen(&mut flaky_seen, "flaky retry").await.envelope.attributes.retrace_intent, 1);
    assert_eq!(next_seen(&mut steady_seen, "steady once").await.envelope.attributes.retrace_intent, 0);
    h.shutdown.cancel();
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    assert!(steady_seen.try_recv().is_err(), "the retry was not re-broadcast to steady");
    h.finish().await;
}
