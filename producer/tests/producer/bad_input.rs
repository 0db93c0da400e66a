//! Each kind of bad input gets its status and names the field; nothing is published.

use serde_json::{json, Value};

use crate::helpers::*;

async fn refused(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("errors are JSON");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{body}");
    body
}

#[tokio::test]
async fn invalid_orders_are_refused_with_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let tap = app.tap().await;
    let cases = [
        (json!({"client": "Cliente_02"}), "client", "position 1"),
        (json!({"product": "product-z"}), "product", "not offered"),
        (json!({"environment": "mars"}), "environment", "not offered"),
        (json!({"archtype": "mainframe"}), "archtype", "saas, edge, on-prem"),
        (json!({"hardware": "gold"}), "hardware", "not offered"),
        (json!({"client": 42}), "client", "a number, expected a string"),
        (json!({"namespace": "-bad"}), "namespace", "start and end"),
        (json!({"client": "x".repeat(64)}), "client", "64 characters"),
    ];
    for (change, field, words) in cases {
        let mut order = order_json("cliente02");
        for (k, v) in change.as_object().unwrap() {
            order[k] = v.clone();
        }
        let body = refused(app.order(&order).await, 422).await;
        assert_eq!(body["field"], field, "{body}");
        assert!(body["error"].as_str().unwrap().contains(words), "{field}: {body}");
    }
    let mut missing = order_json("cliente02");
    missing.as_object_mut().unwrap().remove("product");
    let body = refused(app.order(&missing).await, 422).await;
    assert_eq!(
        (body["field"].as_str(), body["error"].as_str()),
        (Some("product"), Some("product is missing"))
    );

    for (path, field) in [
        ("/api/v1/orders/Bad_Client/product-a", "client"),
        ("/api/v1/orders/c1/Product_A", "product"),
        ("/api/v1/orders/c1/product-a?namespace=-x", "namespace"),
    ] {
        let response = app.client.delete(app.url(path)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(refused(response, 422).await["field"], field, "{path}");
    }

    // A probe order after all the bad ones: it must be the only message on the tap.
    assert_eq!(app.order(&order_json("probe01")).await.status(), 202);
    let got = app.t.take(&tap, 1, WAIT).await;
    assert_eq!(got[0].routing_key.as_str(), "mycompany.producer.event.probe01.published");
    assert_eq!(app.t.queue_len(&tap).await, 0, "no invalid order was published");
    app.stop().await;
}

#[tokio::test]
async fn unreadable_oversized_and_mistyped_bodies_get_400_413_and_415() {
    let app = TestApp::spawn().await;
    let post = |path: &str, content_type: &str, body: Vec<u8>| {
        app.client
            .post(app.url(path))
            .bearer_auth(TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for path in ["/api/v1/orders", "/api/v1/events"] {
        let body =
            refused(post(path, "application/json", b"{\"client\": ".to_vec()).await.unwrap(), 400).await;
        assert!(body["error"].as_str().unwrap().contains("not JSON"), "{body}");
        assert_eq!(body["field"], Value::Null);
        refused(post(path, "application/json", b"[1, 2]".to_vec()).await.unwrap(), 400).await;
        let big = format!("{{\"client\": \"{}\"}}", "a".repeat(1024 * 1024 + 1)).into_bytes();
        refused(post(path, "application/json", big).await.unwrap(), 413).await;
        let body = refused(post(path, "text/plain", b"{}".to_vec()).await.unwrap(), 415).await;
        assert!(body["error"].as_str().unwrap().contains("application/json"), "{body}");
    }
    refused(post("/", "application/json", b"{}".to_vec()).await.unwrap(), 415).await;
    app.stop().await;
}

#[tokio::test]
async fn a_caller_built_envelope_with_a_bad_field_is_refused_naming_it() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"client": "a"}), "MessageAttributes.event_type.Value"),
        (json!({"MessageAttributes": {"event_type": "not.an.event"}}), "MessageAttributes.event_type.Value"),
        (
            json!({"MessageAttributes": {"event_type": "a.b.event.c.d", "trace_id": "nope"}}),
            "MessageAttributes.trace_id",
        ),
    ];
    for (envelope, field) in cases {
        let response = app
            .client
            .post(app.url("/api/v1/events"))
            .bearer_auth(TOKEN)
            .json(&envelope)
            .send()
            .await
            .unwrap();
        let body = refused(response, 422).await;
        assert_eq!(body["field"], field, "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_invalid_form_is_shown_again_with_each_message_next_to_its_field() {
    let app = TestApp::spawn().await;
    let form = "client=Bad_Name&namespace=&product=product-z&environment=development&archtype=saas&hardware=dedicated";
    let response = app.post_form(form).await;
    assert_eq!(response.status(), 422);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"value="Bad_Name""#), "the value is kept: {html}");
    assert!(html.contains(r#"<p class="error" id="client-error">client is invalid"#), "{html}");
    assert!(
        html.contains(r#"<p class="error" id="product-error">product &quot;product-z&quot; is not offered"#),
        "{html}"
    );
    assert!(!html.contains(r#"id="hardware-error""#), "a valid field has no message");
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_trace_id_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    for path in ["/api/v1/traces/not-a-uuid", "/api/v1/traces/not-a-uuid/events"] {
        let body = refused(app.client.get(app.url(path)).bearer_auth(TOKEN).send().await.unwrap(), 422).await;
        assert_eq!(body["field"], "trace_id");
    }
    app.stop().await;
}
