use eda_common::delivery::{self, HandlerError, DEAD_ERROR, DEAD_FAILED_AT, DEAD_QUEUE};
use eda_tests::broker::{headers, json};

use crate::helpers::*;

#[tokio::test]
async fn a_handler_that_always_fails_ends_in_dead_after_max_retries_with_its_headers_and_trace_id() {
    let h = Harness::new("worker").await;
    let (handler, mut seen) =
        Scripted::failing(HandlerError::transient("helm: another operation is in progress"));
    let spec = h.spec("worker", &["*.*.event.*.published"]);
    h.declare(&spec).await;
    let failed_tap = h.t.tap("failed-tap", "*.worker.event.*.failed").await;
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let run = tokio::spawn(async move { delivery::run(&p, spec, handler, s).await });
    let env = order("cliente04");
    h.publisher.publish(&env).await.unwrap();

    let dead = h.t.take(&h.t.name("dead"), 1, WAIT).await.remove(0);
    for attempt in 0..=3 {
        assert_eq!(next_seen(&mut seen, "an attempt").await.envelope.attributes.retrace_intent, attempt);
    }
    let hd = headers(&dead);
    assert_eq!(hd[DEAD_QUEUE], h.t.name("worker"));
    assert!(hd[DEAD_ERROR].contains("gave up after 3 retries"), "{}", hd[DEAD_ERROR]);
    assert!(hd[DEAD_ERROR].contains("another operation is in progress"), "{}", hd[DEAD_ERROR]);
    assert!(chrono::DateTime::parse_from_rfc3339(&hd[DEAD_FAILED_AT]).is_ok(), "{}", hd[DEAD_FAILED_AT]);
    let body = json(&dead);
    assert_eq!(body["MessageAttributes"]["trace_id"], env.trace_id().to_string());
    assert_eq!(
        body["MessageAttributes"]["retrace_intent"], "3",
        "dead-lettered after its last retry carries EDA_MAX_RETRIES"
    );

    let failed = h.t.take(&failed_tap, 1, WAIT).await.remove(0);
    assert_eq!(failed.routing_key.as_str(), "mycompany.worker.event.cliente04.failed");
    let fb = json(&failed);
    assert_eq!(fb["MessageAttributes"]["trace_id"], env.trace_id().to_string());
    assert!(fb["error"].as_str().unwrap().contains("another operation"), "{fb}");

    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}

#[tokio::test]
async fn a_permanent_failure_goes_straight_to_dead_without_retry() {
    let h = Harness::new("worker").await;
    let (handler, mut seen) =
        Scripted::failing(HandlerError::permanent("product `product-z` is not in the catalog"));
    let spec = h.spec("worker", &["*.*.event.*.published"]);
    h.declare(&spec).await;
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let run = tokio::spawn(async move { delivery::run(&p, spec, handler, s).await });
    h.publisher.publish(&order("cliente05")).await.unwrap();
    let dead = h.t.take(&h.t.name("dead"), 1, WAIT).await.remove(0);
    assert_eq!(headers(&dead)[DEAD_ERROR], "product `product-z` is not in the catalog");
    assert_eq!(json(&dead)["MessageAttributes"]["retrace_intent"], "0");
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(next_seen(&mut seen, "the one attempt").await.envelope.attributes.retrace_intent, 0);
    assert!(seen.try_recv().is_err(), "never retried");
    h.finish().await;
}

#[tokio::test]
async fn malformed_bodies_go_straight_to_dead_with_a_reason_naming_the_field() {
    let h = Harness::new("worker").await;
    let (handler, mut seen) = Scripted::new(vec![]);
    let spec = h.spec("worker", &["#"]);
    h.declare(&spec).await;
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let run = tokio::spawn(async move { delivery::run(&p, spec, handler, s).await });

    let rk = "mycompany.producer.event.bad.published";
    let huge = format!(r#"{{"pad":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"this is not json".to_vec(), "not JSON"),
        (br#"{"client":"a","MessageAttributes":{"trace_id":"9a2ae9de-3f82-4f55-966b-47df50ff51ff"}}"#.to_vec(), "MessageAttributes.event_type.Value"),
        (br#"{"MessageAttributes":{"event_type":{"Value":"mycompany.producer.event.a.published"},"trace_id":"not-a-uuid"}}"#.to_vec(), "MessageAttributes.trace_id"),
        (huge.into_bytes(), "limit"),
    ];
    for (body, _) in &cases {
        h.t.publish(&h.t.name("events"), rk, body, Default::default()).await;
    }
    // A good message after the bad ones proves the service kept going.
    h.publisher.publish(&order("good01")).await.unwrap();
    assert_eq!(next_seen(&mut seen, "the good message").await.envelope.body_str("client"), Some("good01"));

    let dead = h.t.take(&h.t.name("dead"), cases.len(), WAIT).await;
    let mut reasons: Vec<String> = dead.iter().map(|d| headers(d)[DEAD_ERROR].clone()).collect();
    reasons.sort();
    for (_, expected) in &cases {
        assert!(
            reasons.iter().any(|r| r.starts_with("malformed envelope") && r.contains(expected)),
            "no reason mentions {expected}: {reasons:?}"
        );
    }
    assert!(dead.iter().any(|d| d.data.len() > 2 * 1024 * 1024), "the oversized body is kept whole");
    for d in &dead {
        let id = d.properties.message_id().as_ref().map(|m| m.as_str().to_owned());
        let expected = eda_common::envelope::message_id_for_body(&d.data);
        assert_eq!(
            id.as_deref(),
            Some(expected.as_str()),
            "a foreign message parks under its body's SHA-256"
        );
    }
    assert_eq!(
        h.health
            .metrics
            .dead_lettered
            .get_or_create(&eda_common::metrics::DeadLabels { reason: "malformed" })
            .get(),
        4
    );
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}
