use eda_common::delivery;
use eda_tests::broker::{headers, json};

use crate::helpers::*;

#[tokio::test]
async fn a_published_envelope_carries_every_amqp_property_and_header_of_the_design() {
    let h = Harness::new("producer").await;
    let tap = {
        // The shared topology exists once the broker connected; publish waits for that.
        let env = order("cliente02");
        h.publisher.publish(&env).await.expect("first publish (declares topology)");
        h.t.tap("tap", "#").await
    };
    let env = order("cliente02");
    let id = h.publisher.publish(&env).await.expect("confirmed publish");

    let got = h.t.take(&tap, 1, WAIT).await.remove(0);
    let p = &got.properties;
    assert_eq!(got.routing_key.as_str(), "mycompany.producer.event.cliente02.published");
    assert_eq!(p.content_type().as_ref().unwrap().as_str(), "application/json");
    assert_eq!(*p.delivery_mode(), Some(2), "persistent");
    assert_eq!(p.message_id().as_ref().unwrap().as_str(), id);
    let version = uuid::Uuid::parse_str(&id).map(|u| u.get_version_num());
    assert_eq!(version, Ok(7), "message id is a fresh, time-ordered UUID: {id}");
    let trace = env.attributes.trace_id.to_string();
    assert_eq!(p.correlation_id().as_ref().unwrap().as_str(), trace);
    assert_eq!(p.kind().as_ref().unwrap().as_str(), "mycompany.producer.event.cliente02.published");
    assert!(p.timestamp().is_some());
    assert_eq!(p.app_id().as_ref().unwrap().as_str(), "producer");
    let hd = headers(&got);
    assert_eq!(hd["trace_id"], trace);
    assert_eq!(hd["retrace_intent"], "0");
    let hex = env.attributes.trace_id.simple().to_string();
    assert!(hd["traceparent"].starts_with(&format!("00-{hex}-")), "{}", hd["traceparent"]);
    assert_eq!(hd["ce-specversion"], "1.0");
    assert_eq!(hd["ce-id"], id);
    assert_eq!(hd["ce-type"], "mycompany.producer.event.cliente02.published");
    assert_eq!(hd["ce-source"], "producer");
    assert!(hd.contains_key("ce-time"));
    assert_eq!(hd["ce-traceparent"], hd["traceparent"]);

    let body = json(&got);
    assert_eq!(body["MessageAttributes"]["retrace_intent"], "0", "written as a decimal string");
    assert_eq!(body["MessageAttributes"]["trace_id"], trace.as_str());
    assert_eq!(body["client"], "cliente02");
    h.finish().await;
}

#[tokio::test]
async fn many_publishes_in_flight_are_all_confirmed() {
    let h = Harness::new("producer").await;
    h.publisher.publish(&order("warmup")).await.unwrap();
    let tap = h.t.tap("tap", "#").await;
    let sends: Vec<_> = (0..200).map(|i| h.publisher.event(&order(&format!("c{i}")))).collect();
    h.publisher.send_all(sends).await.expect("all confirmed");
    let got = h.t.take(&tap, 200, WAIT).await;
    assert_eq!(got.len(), 200);
    h.finish().await;
}

#[tokio::test]
async fn seed_json_from_a_foreign_publisher_round_trips_through_the_runtime() {
    let h = Harness::new("reader").await;
    let (handler, mut seen) = Scripted::new(vec![]);
    let spec = h.spec("reader", &["#"]);
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let run = tokio::spawn(async move { delivery::run(&p, spec, handler, s).await });
    let seed = br#"{"client":"cliente02","namespace":"cliente02","environment":"Development","archtype":"SaaS","hardware":"Dedicated","product":"Product-A","MessageAttributes":{"event_type":{"Type":"String","Value":"mycompany.producer.event.cliente02.published"},"published_on":"2023.01.2.23.02.642883101","trace_id":"9a2ae9de-3f82-4f55-966b-47df50ff51ff","retrace_intent":"0"},"Metadata":{"host":"hostname","origing":"Cloud","publisher":"producer"}}"#;
    wait_for_queue(&h, "reader").await;
    h.t.publish_event("mycompany.producer.event.cliente02.published", seed, Default::default()).await;
    let m = next_seen(&mut seen, "the seed message").await;
    assert_eq!(m.envelope.attributes.trace_id.to_string(), "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
    assert_eq!(m.envelope.body_str("product"), Some("Product-A"));
    assert_eq!(m.envelope.metadata.origin.as_deref(), Some("Cloud"));
    assert_eq!(
        m.message_id,
        eda_common::envelope::message_id_for_body(seed),
        "no message_id: SHA-256 of the body"
    );
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}

#[tokio::test]
async fn a_binary_mode_cloudevent_is_read_into_an_envelope() {
    let h = Harness::new("reader").await;
    let (handler, mut seen) = Scripted::new(vec![]);
    let spec = h.spec("reader", &["#"]);
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let run = tokio::spawn(async move { delivery::run(&p, spec, handler, s).await });
    wait_for_queue(&h, "reader").await;
    let mut table = lapin::types::FieldTable::default();
    let put = |t: &mut lapin::types::FieldTable, k: &str, v: &str| {
        t.insert(k.into(), eda_common::publisher::long(v));
    };
    put(&mut table, "ce-specversion", "1.0");
    put(&mut table, "ce-id", "ce-42");
    put(&mut table, "ce-type", "acme.portal.event.knative01.published");
    put(&mut table, "ce-source", "/knative/broker");
    put(&mut table, "ce-traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    let props =
        lapin::BasicProperties::default().with_content_type("application/json".into()).with_headers(table);
    h.t.publish_event(
        "acme.portal.event.knative01.published",
        br#"{"client":"knative01","product":"product-b"}"#,
        props,
    )
    .await;
    let m = next_seen(&mut seen, "the CloudEvent").await;
    assert_eq!(m.envelope.attributes.event_type.to_string(), "acme.portal.event.knative01.published");
    assert_eq!(m.envelope.attributes.trace_id.simple().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(m.message_id, "ce-42", "the CloudEvent id is the message id");
    assert_eq!(m.envelope.body_str("product"), Some("product-b"));
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}

/// Waits until the consumer declared and bound its queue (publishing before would be unrouted).
pub async fn wait_for_queue(h: &Harness, _service: &str) {
    tokio::time::timeout(WAIT, h.health.readiness.wait_for("consumer", true))
        .await
        .expect("consumer never started consuming");
}
