//! Exchanges and queues that exist before eda declares them, with other arguments (issue 24):
//! the runtime uses them, reports each difference once (log, metric, `/readyz`), stays ready
//! while every delivery path works and not ready, consuming nothing, while one cannot.

use eda_common::delivery::{self, HandlerError};
use eda_common::health::{router, HttpServer};
use eda_common::topology::policy::events_policy;
use eda_common::topology::report::CHECK;
use eda_tests::broker::{clear_policy, set_policy, TestBroker};
use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable};

use crate::helpers::*;
use crate::publishing::wait_for_queue;
use crate::reconnect::http_get;

/// `/readyz` of the harness's health, as a probe sees it.
async fn readyz(h: &Harness) -> (u16, serde_json::Value) {
    let server = HttpServer::bind("127.0.0.1:0".parse().unwrap(), router(h.health.clone())).await.unwrap();
    let addr = server.local_addr();
    let stop = tokio_util::sync::CancellationToken::new();
    let serving = tokio::spawn(server.serve(stop.clone()));
    let (status, body) = http_get(addr, "/readyz").await;
    stop.cancel();
    serving.await.unwrap().unwrap();
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("/readyz is JSON ({e}): {body}")))
}

fn gauge(h: &Harness, object_kind: &str, difference: &str) -> String {
    let wanted = "eda_topology_differences{service=\"";
    h.health
        .metrics
        .encode()
        .lines()
        .find(|l| {
            l.starts_with(wanted)
                && l.contains(&format!("object_kind=\"{object_kind}\""))
                && l.contains(&format!("difference=\"{difference}\""))
        })
        .map(|l| l.rsplit(' ').next().unwrap().to_owned())
        .unwrap_or_else(|| "absent".into())
}

#[tokio::test]
async fn a_plain_events_exchange_declared_beforehand_is_used_reported_once_and_the_documented_policy_restores_unrouted(
) {
    let t = TestBroker::new().await;
    // Another team's publisher, the tutorial way: a durable topic exchange, no arguments.
    t.declare_plain_events_exchange().await;
    let h = Harness::on(t, "tolerant").await;
    let (handler, mut seen) = Scripted::new(vec![Err(HandlerError::transient("database unavailable"))]);
    let spec = h.spec("tolerant", &["*.*.event.*.published"]);
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let run = tokio::spawn(async move { delivery::run(&p, spec, handler, s).await });
    wait_for_queue(&h, "tolerant").await;

    let id = h.publisher.publish(&order("cliente02")).await.expect("published through the foreign exchange");
    assert_eq!(next_seen(&mut seen, "the first delivery").await.message_id, id);
    let retried = next_seen(&mut seen, "the retry").await;
    assert_eq!(retried.envelope.attributes.retrace_intent, 1, "retries work on the foreign exchange");
    assert!(h.health.readiness.is_ready(), "a missing alternate exchange keeps the service ready");

    let (status, body) = readyz(&h).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"][CHECK], true, "{body}");
    let degraded = body["degraded"].as_array().unwrap();
    assert_eq!(degraded.len(), 1, "{body}");
    assert_eq!(degraded[0]["object"], h.t.name("events").as_str());
    assert_eq!(degraded[0]["difference"], "alternate_exchange");
    assert!(degraded[0]["consequence"].as_str().unwrap().contains("unroutable events are dropped"), "{body}");
    let policy = events_policy(&h.t.prefix);
    assert!(degraded[0]["fix"].as_str().unwrap().contains(&policy.pattern), "{body}");
    assert_eq!(gauge(&h, "events_exchange", "alternate_exchange"), "1");

    // Reconnecting declares again and finds the same difference: still one, not two.
    assert!(h.t.close_service_connections().await >= 1);
    h.health.readiness.wait_for("broker", false).await;
    tokio::time::timeout(WAIT, h.health.readiness.wait_for("consumer", true)).await.expect("consuming again");
    assert_eq!(gauge(&h, "events_exchange", "alternate_exchange"), "1", "counted once");

    // The documented policy gives the exchange its alternate exchange without re-creating it.
    set_policy(
        &policy.name,
        &policy.pattern,
        policy.apply_to,
        policy.priority,
        &policy.definition.to_string(),
    );
    let lonely = eda_common::EventType::new("mycompany", "producer", "lonely", "cancelled").unwrap();
    let env = eda_common::Envelope::new(lonely, uuid::Uuid::new_v4(), Default::default());
    h.publisher.publish(&env).await.expect("an unroutable publish is confirmed");
    let got = h.t.take(&h.t.name("unrouted"), 1, WAIT).await.remove(0);
    assert_eq!(got.routing_key.as_str(), "mycompany.producer.event.lonely.cancelled");
    clear_policy(&policy.name);

    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}

#[tokio::test]
async fn a_classic_service_queue_where_quorum_is_configured_is_consumed_and_reported_as_degraded() {
    let t = TestBroker::new().await;
    let durable = QueueDeclareOptions { durable: true, ..Default::default() };
    t.channel()
        .queue_declare(t.name("classic").as_str().into(), durable, FieldTable::default())
        .await
        .expect("a classic queue of the same name");
    let h = Harness::on(t, "classic").await;
    assert_eq!(h.args.queue_type, eda_common::topology::QueueType::Quorum);
    let (handler, mut seen) = Scripted::new(vec![]);
    let spec = h.spec("classic", &["*.*.event.*.published"]);
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let run = tokio::spawn(async move { delivery::run(&p, spec, handler, s).await });
    wait_for_queue(&h, "classic").await;
    let id = h.publisher.publish(&order("cliente03")).await.unwrap();
    assert_eq!(next_seen(&mut seen, "the delivery").await.message_id, id);

    let (status, body) = readyz(&h).await;
    assert_eq!(status, 200, "{body}");
    let degraded = body["degraded"].as_array().unwrap();
    assert_eq!(degraded.len(), 1, "{body}");
    assert_eq!(degraded[0]["object"], h.t.name("classic").as_str());
    assert_eq!(degraded[0]["difference"], "queue_type");
    assert!(degraded[0]["consequence"].as_str().unwrap().contains("classic queue, not replicated"), "{body}");
    assert_eq!(gauge(&h, "service_queue", "queue_type"), "1");

    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("classic")).await, 0, "acked");
    h.finish().await;
}

#[tokio::test]
async fn a_retry_queue_that_cannot_dead_letter_back_keeps_the_service_not_ready_and_consuming_nothing_until_fixed(
) {
    let t = TestBroker::new().await;
    let retry_queue = format!("{}.retry.stuck.1", t.prefix);
    let mut quorum = FieldTable::default();
    quorum.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    let durable = QueueDeclareOptions { durable: true, ..Default::default() };
    t.channel()
        .queue_declare(retry_queue.as_str().into(), durable, quorum)
        .await
        .expect("a retry queue without TTL or dead-lettering");
    let h = Harness::on(t, "stuck").await;
    let (handler, mut seen) = Scripted::new(vec![]);
    let spec = h.spec("stuck", &["*.*.event.*.published"]);
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let run = tokio::spawn(async move { delivery::run(&p, spec, handler, s).await });
    tokio::time::timeout(WAIT, h.health.readiness.wait_for(CHECK, false))
        .await
        .expect("the topology is judged");

    let (status, body) = readyz(&h).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    let reasons = body["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{body}");
    assert_eq!(reasons[0]["object"], retry_queue.as_str());
    assert_eq!(reasons[0]["impact"], "unsafe");
    assert_eq!(h.health.readiness.check("consumer"), Some(false), "nothing is consumed meanwhile");
    let id = h.publisher.publish(&order("cliente04")).await.unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("stuck")).await, 1, "the message waits in the service queue");

    // The fix the report gives for an argument-less queue: re-create it (here: delete it).
    let fix = reasons[0]["fix"].as_str().unwrap();
    assert!(fix.contains("rabbitmqctl set_policy") || fix.contains("delete_queue"), "{fix}");
    h.t.channel().queue_delete(retry_queue.as_str().into(), Default::default()).await.unwrap();
    tokio::time::timeout(WAIT, h.health.readiness.wait_for(CHECK, true)).await.expect("fixed");
    assert_eq!(next_seen(&mut seen, "the waiting message").await.message_id, id);
    assert!(h.health.readiness.is_ready());

    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}
