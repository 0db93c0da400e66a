//! Orders, cancellations and caller-built events reach the broker as DESIGN.md §2 says.

use eda_tests::broker::{headers, json};
use serde_json::{json, Value};

use crate::helpers::*;

/// The checks every `published` order shares: body shape, metadata, properties, trace id.
fn assert_design_envelope(d: &lapin::message::Delivery, client: &str, trace_id: &str) {
    let routing_key = format!("mycompany.producer.event.{client}.published");
    assert_eq!(d.routing_key.as_str(), routing_key);
    let body = json(d);
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "client",
            "namespace",
            "environment",
            "archtype",
            "hardware",
            "product",
            "MessageAttributes",
            "Metadata"
        ]
    );
    assert_eq!(body["client"], client);
    assert_eq!(body["namespace"], client, "namespace defaults to the client");
    assert_eq!(body["environment"], "development");
    assert_eq!(body["archtype"], "saas");
    assert_eq!(body["hardware"], "dedicated");
    assert_eq!(body["product"], "product-a");
    let attributes = &body["MessageAttributes"];
    assert_eq!(attributes["event_type"], json!({"Type": "String", "Value": routing_key}));
    assert_eq!(attributes["trace_id"], trace_id, "the 202's trace id is the message's");
    assert_eq!(attributes["retrace_intent"], "0");
    let published_on = attributes["published_on"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(published_on).is_ok(), "RFC 3339: {published_on}");
    let keys: Vec<&str> = attributes.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["event_type", "published_on", "trace_id", "retrace_intent"]);
    let metadata = &body["Metadata"];
    assert_eq!(metadata["origing"], "Cloud");
    assert_eq!(metadata["publisher"], "producer");
    assert!(!metadata["host"].as_str().unwrap().is_empty());

    let p = &d.properties;
    assert_eq!(p.content_type().as_ref().unwrap().as_str(), "application/json");
    assert_eq!(*p.delivery_mode(), Some(2));
    assert!(uuid::Uuid::parse_str(p.message_id().as_ref().unwrap().as_str()).is_ok());
    assert_eq!(p.correlation_id().as_ref().unwrap().as_str(), trace_id);
    assert_eq!(p.kind().as_ref().unwrap().as_str(), routing_key);
    assert_eq!(p.app_id().as_ref().unwrap().as_str(), "producer");
    assert!(p.timestamp().is_some());
    let h = headers(d);
    assert_eq!(h["trace_id"], trace_id);
    assert_eq!(h["retrace_intent"], "0");
    let hex = trace_id.replace('-', "");
    assert!(h["traceparent"].starts_with(&format!("00-{hex}-")), "{}", h["traceparent"]);
}

#[tokio::test]
async fn a_json_order_is_published_as_the_design_envelope_with_the_amqp_properties() {
    let app = TestApp::spawn().await;
    let tap = app.tap().await;
    let response = app.order(&order_json("cliente02")).await;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.unwrap();
    let trace_id = accepted["trace_id"].as_str().unwrap().to_owned();
    assert_eq!(accepted["event_type"], "mycompany.producer.event.cliente02.published");
    assert_eq!(accepted["status_url"], format!("/api/v1/traces/{trace_id}"));

    let got = app.t.take(&tap, 1, WAIT).await;
    assert_design_envelope(&got[0], "cliente02", &trace_id);
    assert_eq!(got[0].properties.message_id().as_ref().unwrap().as_str(), accepted["message_id"]);
    app.stop().await;
}

#[tokio::test]
async fn a_form_order_publishes_the_same_envelope_and_redirects_to_its_status_page() {
    let app = TestApp::spawn().await;
    let tap = app.tap().await;
    let form = "client=formclient&namespace=&product=product-a&environment=development&archtype=saas&hardware=dedicated";
    let response = app.post_form(form).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let trace_id = location.strip_prefix("/orders/").expect("redirects to the status page").to_owned();

    let got = app.t.take(&tap, 1, WAIT).await;
    assert_design_envelope(&got[0], "formclient", &trace_id);

    let page = app.client.get(app.url(&location)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!(r#"data-trace-id="{trace_id}""#)), "{html}");
    assert!(html.contains(r#"aria-live="polite">accepted</strong>"#), "the order shows as accepted: {html}");
    app.stop().await;
}

#[tokio::test]
async fn a_cancellation_publishes_cancelled_for_the_clients_product() {
    let app = TestApp::spawn().await;
    let tap = app.tap().await;
    let url = app.url("/api/v1/orders/cliente02/product-b?namespace=team-b");
    let response = app.client.delete(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.unwrap();
    let got = app.t.take(&tap, 1, WAIT).await;
    assert_eq!(got[0].routing_key.as_str(), "mycompany.producer.event.cliente02.cancelled");
    let body = json(&got[0]);
    assert_eq!((body["client"].as_str(), body["namespace"].as_str()), (Some("cliente02"), Some("team-b")));
    assert_eq!(body["product"], "product-b");
    assert_eq!(body["MessageAttributes"]["trace_id"], accepted["trace_id"]);
    app.stop().await;
}

#[tokio::test]
async fn a_caller_built_envelope_is_published_as_is_with_its_trace_id() {
    let app = TestApp::spawn().await;
    let tap = app.tap().await;
    let envelope = json!({
        "client": "py01", "custom": {"nested": [1, 2]},
        "MessageAttributes": {"event_type": {"Type": "String", "Value": "acme.billing.event.py01.invoiced"},
                              "published_on": "2023.01.2.23.02.642883101",
                              "trace_id": "6f1c1f0e-4a9b-4f5e-9a43-1d2c3b4a5f60", "retrace_intent": 2},
        "Metadata": {"host": "py-host", "origin": "Edge", "publisher": "billing"}
    });
    let response =
        app.client.post(app.url("/api/v1/events")).bearer_auth(TOKEN).json(&envelope).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["trace_id"], "6f1c1f0e-4a9b-4f5e-9a43-1d2c3b4a5f60");

    let got = app.t.take(&tap, 1, WAIT).await;
    assert_eq!(got[0].routing_key.as_str(), "acme.billing.event.py01.invoiced");
    let body = json(&got[0]);
    assert_eq!(body["custom"], json!({"nested": [1, 2]}), "unknown fields are kept");
    assert_eq!(body["MessageAttributes"]["trace_id"], "6f1c1f0e-4a9b-4f5e-9a43-1d2c3b4a5f60");
    assert_eq!(body["MessageAttributes"]["retrace_intent"], "2", "written back exactly: a decimal string");
    assert_eq!(body["Metadata"]["publisher"], "billing", "published as is, not re-signed");
    assert_eq!(body["Metadata"]["origing"], "Edge");
    let h = headers(&got[0]);
    assert_eq!(h["trace_id"], "6f1c1f0e-4a9b-4f5e-9a43-1d2c3b4a5f60");
    assert_eq!(h["retrace_intent"], "2");
    assert_eq!(
        got[0].properties.correlation_id().as_ref().unwrap().as_str(),
        "6f1c1f0e-4a9b-4f5e-9a43-1d2c3b4a5f60"
    );
    app.stop().await;
}

#[tokio::test]
async fn requests_are_counted_by_route_and_status_class_without_client_names() {
    let app = TestApp::spawn().await;
    assert_eq!(app.order(&order_json("metricsclient")).await.status(), 202);
    assert_eq!(app.order(&json!({"client": "Bad"})).await.status(), 422);
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains(r#"eda_http_requests_total{service="producer",route="/api/v1/orders",method="POST",status="2xx"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"eda_http_requests_total{service="producer",route="/api/v1/orders",method="POST",status="4xx"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"eda_publish_duration_seconds_count{service="producer"} 1"#), "{text}");
    assert!(text.contains("eda_http_request_duration_seconds_bucket"), "{text}");
    assert!(!text.contains("metricsclient"), "no client name in any label");
    app.stop().await;
}
