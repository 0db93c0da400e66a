//! Who gets in: tokens for the API, the basic login for the portal (and the API), nothing by default.

use base64::Engine;
use eda_tests::broker::TestBroker;
use producer::Application;

use crate::helpers::*;

#[tokio::test]
async fn the_api_refuses_a_request_without_a_valid_token_with_401() {
    let app = TestApp::spawn().await;
    let tap = app.tap().await;
    let url = app.url("/api/v1/orders");
    let none = app.client.post(&url).json(&order_json("c1")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(none.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    let body: serde_json::Value = none.json().await.unwrap();
    assert_eq!(body["error"], "authentication required");
    let wrong =
        app.client.post(&url).bearer_auth("test-token-2").json(&order_json("c1")).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    for path in ["/api/v1/traces/9a2ae9de-3f82-4f55-966b-47df50ff51ff", "/"] {
        assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 401, "{path}");
    }
    for path in ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json", "/assets/portal.css"] {
        assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 200, "{path} stays open");
    }
    assert_eq!(app.order(&order_json("probe02")).await.status(), 202);
    let got = app.t.take(&tap, 1, WAIT).await;
    assert_eq!(
        got[0].routing_key.as_str(),
        "mycompany.producer.event.probe02.published",
        "refused orders were not published"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_portal_asks_for_the_basic_login_and_the_api_accepts_it_too() {
    let t = TestBroker::new().await;
    let config = config_with_login(&t, "ops", "s3cret pass");
    let app = TestApp::spawn_with(t, config, true).await;

    let asked = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(asked.status(), 401);
    assert!(asked.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic realm="));
    let wrong = app.client.get(app.url("/")).basic_auth("ops", Some("s3cret")).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let page = app.client.get(app.url("/")).basic_auth("ops", Some("s3cret pass")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(r#"<form method="post" action="/""#));

    let credential = base64::engine::general_purpose::STANDARD.encode("ops:s3cret pass");
    let api = app
        .client
        .post(app.url("/api/v1/orders"))
        .header("authorization", format!("Basic {credential}"))
        .json(&order_json("c2"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 202);
    app.stop().await;
}

#[tokio::test]
async fn the_producer_refuses_to_start_without_credentials_unless_told_it_is_insecure() {
    let t = TestBroker::new().await;
    let mut config = config(&t);
    config.api_tokens = None;
    let error = Application::build(config.clone()).await.err().expect("no credentials: no start");
    assert!(error.to_string().contains("--insecure-no-auth"), "{error}");

    config.insecure_no_auth = true;
    let app = TestApp::spawn_with(t, config, true).await;
    assert_eq!(app.order(&order_json("open01")).await.status(), 202);
    let open = app.client.post(app.url("/api/v1/orders")).json(&order_json("open02")).send().await.unwrap();
    assert_eq!(open.status(), 202, "no token needed when insecure");
    app.stop().await;
}
