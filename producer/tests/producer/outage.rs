//! Broker outages: no 202 for an event the broker did not confirm; 503 instead, and back to 202.

use std::time::Duration;

use eda_tests::broker::TestBroker;
use serde_json::Value;

use crate::helpers::*;
use crate::proxy::Proxy;

#[tokio::test]
async fn orders_get_503_while_the_broker_is_cut_off_and_202_again_once_it_is_back() {
    let proxy = Proxy::start().await;
    let t = TestBroker::new().await;
    let mut config = config(&t);
    config.common.amqp_url = Some(proxy.url().into());
    config.publish_timeout = Duration::from_secs(1);
    let app = TestApp::spawn_with(t, config, true).await;
    assert_eq!(app.order(&order_json("before01")).await.status(), 202);

    proxy.cut();
    tokio::time::timeout(WAIT, app.health.readiness.wait_for("broker", false)).await.expect("loss noticed");
    let response = app.order(&order_json("during01")).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("broker"), "{body}");
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503, "not ready while disconnected");

    proxy.restore();
    tokio::time::timeout(WAIT, app.health.readiness.wait_for("broker", true)).await.expect("reconnected");
    let tap = app.tap().await;
    assert_eq!(app.order(&order_json("after01")).await.status(), 202);
    let got = app.t.take(&tap, 1, WAIT).await;
    assert_eq!(got[0].routing_key.as_str(), "mycompany.producer.event.after01.published");
    app.stop().await;
}

#[tokio::test]
async fn a_form_order_during_an_outage_shows_the_form_again_saying_nothing_was_ordered() {
    let t = TestBroker::new().await;
    let mut config = config(&t);
    config.common.amqp_url = Some("amqp://guest:guest@127.0.0.1:1/%2f".to_owned().into());
    config.publish_timeout = Duration::from_millis(300);
    let app = TestApp::spawn_with(t, config, false).await;
    let api = app.order(&order_json("down01")).await;
    assert_eq!(api.status(), 503);
    let form = "client=down02&product=product-a&environment=development&archtype=saas&hardware=dedicated";
    let response = app.post_form(form).await;
    assert_eq!(response.status(), 503);
    let html = response.text().await.unwrap();
    assert!(html.contains("Nothing was ordered"), "{html}");
    assert!(html.contains(r#"value="down02""#), "the form keeps what was typed");
    app.stop().await;
}

#[tokio::test]
async fn the_status_feed_is_bound_again_after_the_connection_is_lost() {
    let proxy = Proxy::start().await;
    let t = TestBroker::new().await;
    let mut config = config(&t);
    config.common.amqp_url = Some(proxy.url().into());
    let app = TestApp::spawn_with(t, config, true).await;
    let feed = producer::feed::tap::READINESS_CHECK;

    proxy.cut();
    tokio::time::timeout(WAIT, app.health.readiness.wait_for(feed, false)).await.expect("feed loss noticed");
    proxy.restore();
    tokio::time::timeout(WAIT, app.health.readiness.wait_for(feed, true)).await.expect("feed back");

    // The harness publishes straight to the broker: only a queue bound again can see it.
    let trace_id = uuid::Uuid::new_v4();
    let url = app.url(&format!("/api/v1/traces/{trace_id}/events"));
    let mut stream = crate::sse::SseReader::new(app.client.get(url).bearer_auth(TOKEN).send().await.unwrap());
    let id = app.publish_as("provisioner", &provisioner_event("again01", "provisioning", trace_id)).await;
    let event = stream.next(WAIT).await;
    assert_eq!((event.id.as_str(), event.data["action"].as_str()), (id.as_str(), Some("provisioning")));
    app.stop().await;
}
