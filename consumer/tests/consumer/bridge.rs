//! `consumer bridge --from QUEUE`: legacy messages move into `<prefix>.events` under their own
//! event types; malformed ones are parked in `dead` naming the legacy queue.

use consumer::config::BridgeArgs;
use eda_common::delivery::{DEAD_ERROR, DEAD_QUEUE};
use eda_common::envelope::message_id_for_body;
use eda_tests::broker::{headers, json};
use lapin::BasicProperties;

use crate::helpers::*;

/// The seed README's message, comments stripped: what the legacy publishers send.
fn seed() -> Vec<u8> {
    std::fs::read(repo_path("common/tests/fixtures/valid/seed-readme-comments-stripped.json")).unwrap()
}

/// A bridge from this test's `<prefix>.infra`, ready, and a tap on every event it republishes.
async fn start_bridge(
) -> (Harness, String, String, eda_common::health::Readiness, tokio::task::JoinHandle<consumer::Result<()>>) {
    let mut h = Harness::new(2).await;
    let legacy = h.t.name("infra");
    h.t.track_service("infra", 0);
    let rt = h.runtime("bridge").await;
    let all = h.t.tap("all", "#").await;
    let args = BridgeArgs { from: legacy.clone() };
    let (stop, ready) = (h.shutdown.clone(), rt.health.readiness.clone());
    let run = tokio::spawn(async move { consumer::bridge::run(&rt, &args, stop).await });
    tokio::time::timeout(WAIT, ready.wait_for("bridge", true)).await.unwrap();
    (h, legacy, all, ready, run)
}

#[tokio::test]
async fn the_bridge_moves_seed_format_messages_from_a_plain_queue_under_their_event_types() {
    let (h, legacy, all, _, run) = start_bridge().await;

    let seed = seed();
    let cancelled = String::from_utf8(seed.clone())
        .unwrap()
        .replace("event.client.published", "event.cliente02.cancelled")
        .replace("9a2ae9de-3f82-4f55-966b-47df50ff51ff", "0b7c1f3e-5d0a-4c39-9d1e-2f8a6b4c7e11");
    let with_id = BasicProperties::default().with_message_id("legacy-42".into());
    h.t.publish("", &legacy, &seed, BasicProperties::default()).await;
    h.t.publish("", &legacy, cancelled.as_bytes(), with_id).await;
    h.t.publish("", &legacy, b"{\"client\": \"x\"", BasicProperties::default()).await;

    let got = h.t.take(&all, 2, WAIT).await;
    assert_eq!(got[0].routing_key.as_str(), "mycompany.producer.event.client.published");
    assert_eq!(got[0].properties.message_id().as_ref().unwrap().as_str(), message_id_for_body(&seed));
    let body = json(&got[0]);
    assert_eq!(body["MessageAttributes"]["trace_id"], "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
    assert_eq!(body["product"], "Product-A");
    assert_eq!(body["MessageAttributes"]["published_on"], "2023-01-02T23:02:00.642883101Z");
    assert_eq!(headers(&got[0])["trace_id"], "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
    assert_eq!(got[1].routing_key.as_str(), "mycompany.producer.event.cliente02.cancelled");
    assert_eq!(got[1].properties.message_id().as_ref().unwrap().as_str(), "legacy-42");

    let dead = h.t.take(&h.t.name("dead"), 1, WAIT).await;
    let dead_headers = headers(&dead[0]);
    assert_eq!(dead_headers[DEAD_QUEUE], legacy);
    assert!(dead_headers[DEAD_ERROR].starts_with("malformed envelope"), "{dead_headers:?}");
    assert_eq!(&dead[0].data[..], b"{\"client\": \"x\"");
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&legacy).await, 0, "every legacy message was acked");
    h.finish().await;
}

#[tokio::test]
async fn the_bridge_resumes_after_losing_its_connection() {
    let (h, legacy, all, ready, run) = start_bridge().await;
    let first = order("before");
    h.t.publish("", &legacy, &first.to_json(), BasicProperties::default()).await;
    assert_eq!(h.t.take(&all, 1, WAIT).await[0].routing_key.as_str(), first.event_type().as_str());

    assert!(h.t.close_service_connections().await >= 1, "the bridge's connection was closed");
    tokio::time::timeout(WAIT, ready.wait_for("bridge", false)).await.unwrap();
    let second = order("after");
    h.t.publish("", &legacy, &second.to_json(), BasicProperties::default()).await;
    tokio::time::timeout(WAIT, ready.wait_for("bridge", true)).await.unwrap();
    let got = h.t.take(&all, 1, WAIT).await;
    assert_eq!(got[0].routing_key.as_str(), second.event_type().as_str());
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&legacy).await, 0);
    h.finish().await;
}
