//! The status of a trace: the timeline JSON and the live SSE stream, one trace only.

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::*;
use crate::sse::SseReader;

#[tokio::test]
async fn the_event_stream_of_a_trace_delivers_its_events_and_none_of_another() {
    let app = TestApp::spawn().await;
    let accepted: Value = app.order(&order_json("ssea")).await.json().await.unwrap();
    let mine = Uuid::parse_str(accepted["trace_id"].as_str().unwrap()).unwrap();
    let other = Uuid::new_v4();

    let url = app.url(&format!("/api/v1/traces/{mine}/events"));
    let mut stream = SseReader::new(app.client.get(url).bearer_auth(TOKEN).send().await.unwrap());
    let first = stream.next(WAIT).await;
    assert_eq!(first.data["action"], "published", "the cached timeline comes first");
    assert_eq!(first.id, accepted["message_id"]);

    // Published in this order: mine, another trace's, mine. Only mine may come out.
    let provisioning = app.publish_as("provisioner", &provisioner_event("ssea", "provisioning", mine)).await;
    app.publish_as("provisioner", &provisioner_event("sseb", "provisioning", other)).await;
    app.publish_as("provisioner", &provisioner_event("sseb", "failed", other)).await;
    let provisioned = app.publish_as("provisioner", &provisioner_event("ssea", "provisioned", mine)).await;

    let second = stream.next(WAIT).await;
    let third = stream.next(WAIT).await;
    for event in [&second, &third] {
        assert_eq!(event.data["trace_id"], mine.to_string(), "only this trace: {:?}", event.data);
        assert_eq!(event.data["app"], "provisioner");
    }
    assert_eq!(
        (second.id.as_str(), second.data["action"].as_str()),
        (provisioning.as_str(), Some("provisioning"))
    );
    assert_eq!(
        (third.id.as_str(), third.data["action"].as_str()),
        (provisioned.as_str(), Some("provisioned"))
    );
    assert_eq!(third.data["fields"]["release"], "product-a");
    app.stop().await;
}

#[tokio::test]
async fn the_timeline_lists_the_events_seen_for_a_trace_in_order() {
    let app = TestApp::spawn().await;
    let accepted: Value = app.order(&order_json("tla")).await.json().await.unwrap();
    let trace_id = Uuid::parse_str(accepted["trace_id"].as_str().unwrap()).unwrap();
    let url = app.url(&format!("/api/v1/traces/{trace_id}/events"));
    let mut stream = SseReader::new(app.client.get(url).bearer_auth(TOKEN).send().await.unwrap());
    stream.next(WAIT).await;
    let mut failed = provisioner_event("tla", "failed", trace_id);
    failed.body.insert("error".into(), "chart not found".into());
    failed.attributes.retrace_intent = 5;
    app.publish_as("provisioner", &failed).await;
    // The stream and the timeline read the same cache: once streamed, the timeline has it.
    assert_eq!(stream.next(WAIT).await.data["action"], "failed");

    let timeline = timeline_of(&app, trace_id).await;
    assert_eq!(timeline["trace_id"], trace_id.to_string());
    let events = timeline["events"].as_array().unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["published", "failed"], "the producer's own copy from the feed is not doubled");
    assert_eq!(events[1]["fields"]["error"], "chart not found");
    assert_eq!(events[1]["retrace_intent"], 5);
    assert_eq!(events[0]["app"], "producer");

    let unknown = app.url(&format!("/api/v1/traces/{}", Uuid::new_v4()));
    let empty: Value = app.client.get(unknown).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(empty["events"], serde_json::json!([]));
    app.stop().await;
}

#[tokio::test]
async fn a_superseded_order_says_so_and_names_the_newer_order_that_won() {
    let app = TestApp::spawn().await;
    let accepted: Value = app.order(&order_json("stale")).await.json().await.unwrap();
    let trace_id = Uuid::parse_str(accepted["trace_id"].as_str().unwrap()).unwrap();
    let order_id = accepted["message_id"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/traces/{trace_id}/events"));
    let mut stream = SseReader::new(app.client.get(url).bearer_auth(TOKEN).send().await.unwrap());
    assert_eq!(stream.next(WAIT).await.data["action"], "published");

    let newer_time = "2026-01-01T00:00:09.123456789Z";
    let superseded = superseded_event("stale", trace_id, order_id, "m-newer", newer_time, "absent");
    let superseded_id = app.publish_as("provisioner", &superseded).await;
    let live = stream.next(WAIT).await;
    assert_eq!(
        (live.id.as_str(), live.data["action"].as_str()),
        (superseded_id.as_str(), Some("superseded"))
    );
    let expected = serde_json::json!({
        "client": "stale", "namespace": "stale", "product": "product-a", "release": "product-a",
        "order_id": order_id, "order_time": "2026-01-01T00:00:00.000000001Z",
        "newer_order_id": "m-newer", "newer_order_time": newer_time, "newer_desired": "absent",
    });
    assert_eq!(live.data["fields"], expected, "the live stream names the newer order");

    let timeline = timeline_of(&app, trace_id).await;
    let events = timeline["events"].as_array().unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["published", "superseded"]);
    assert_eq!(events[1]["fields"], expected, "the timeline names the newer order");

    let page =
        app.client.get(app.url(&format!("/orders/{trace_id}"))).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(r#"aria-live="polite">superseded</strong>"#), "the status says superseded: {page}");
    assert!(
        page.contains(r#"<ol class="steps" id="steps" data-state="accepted">"#),
        "steps unchanged: {page}"
    );
    assert!(page.contains(r#"<p class="superseded" id="superseded">"#), "the notice is shown: {page}");
    assert!(page.contains(r#"<code id="newer-order-id">m-newer</code>"#), "{page}");
    assert!(page.contains(&format!(r#"<time id="newer-order-time">{newer_time}</time>"#)), "{page}");
    assert!(page.contains(r#"<strong id="newer-desired">absent</strong>"#), "{page}");
    for id in [order_id, superseded_id.as_str()] {
        assert!(page.contains(&format!(r#"<li data-id="{id}""#)), "event {id} is listed: {page}");
    }
    app.stop().await;
}

/// `GET /api/v1/traces/{id}`, as JSON.
async fn timeline_of(app: &TestApp, trace_id: impl std::fmt::Display) -> Value {
    let url = app.url(&format!("/api/v1/traces/{trace_id}"));
    app.client.get(url).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap()
}
