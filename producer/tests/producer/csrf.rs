//! Cross-site request forgery: the browser of a basic-auth user resends its credentials to the
//! portal on its own, so a form on another site could order with them. A state-changing portal
//! request a browser says came from elsewhere is refused (403, logged); the portal's own form
//! goes through.

use eda_tests::broker::TestBroker;

use crate::helpers::*;

const FORM: &str = "client=csrf01&environment=development&archtype=saas&hardware=dedicated&product=product-a";

#[tokio::test]
async fn a_cross_site_form_post_is_refused_with_403_and_logged_and_the_same_site_one_orders() {
    let (logs, _guard) = capture_logs();
    let t = TestBroker::new().await;
    let config = config_with_login(&t, "buyer", "csrf pass");
    let app = TestApp::spawn_with(t, config, true).await;
    let tap = app.tap().await;
    let post = |headers: &[(&str, String)]| {
        let mut request = app
            .client
            .post(app.url("/"))
            .basic_auth("buyer", Some("csrf pass"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(FORM);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request.send()
    };

    let evil = "http://evil.example".to_owned();
    let forged = [
        vec![("origin", evil.clone()), ("sec-fetch-site", "cross-site".into())],
        vec![("origin", evil.clone())],
        vec![("origin", "null".into())],
        vec![("sec-fetch-site", "same-site".into())],
    ];
    for headers in &forged {
        let response = post(headers).await.unwrap();
        assert_eq!(response.status(), 403, "{headers:?}");
        assert!(response.text().await.unwrap().contains("Cross-site request refused"));
    }
    // The API refuses the same (with its JSON error), though no simple cross-site request reaches it.
    let api = app
        .client
        .post(app.url("/api/v1/orders"))
        .basic_auth("buyer", Some("csrf pass"))
        .header("origin", &evil)
        .json(&order_json("csrf01"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 403);
    assert_eq!(api.json::<serde_json::Value>().await.unwrap()["error"], "cross-site request refused");
    let own = post(&[("origin", app.base.clone()), ("sec-fetch-site", "same-origin".into())]).await.unwrap();
    assert_eq!(own.status(), 303, "the portal's own form orders");
    let published = app.t.take(&tap, 1, WAIT).await;
    assert_eq!(published[0].routing_key.as_str(), "mycompany.producer.event.csrf01.published");
    assert_eq!(app.t.queue_len(&tap).await, 0, "only the same-site order was published");
    app.stop().await;

    let logs = logs.text();
    let refusals = logs.lines().filter(|l| l.contains("cross-site request refused: ")).count();
    assert_eq!(refusals, forged.len() + 1, "each refusal is logged: {logs}");
    assert!(logs.contains("evil.example"), "the log says where it came from");
}

/// A page of another site (`localhost`, where the portal is `127.0.0.1`) with a form that posts
/// an order to the portal, as the issue's attacker would host it.
async fn evil_site(portal: &str) -> (String, tokio::task::JoinHandle<()>) {
    let fields: String = url::form_urlencoded::parse(FORM.as_bytes())
        .map(|(k, v)| format!(r#"<input type="hidden" name="{k}" value="{v}">"#))
        .collect();
    let page = format!(
        r#"<!doctype html><html><body><form method="post" action="{portal}/">{fields}<button id="win" type="submit">Win a prize</button></form></body></html>"#
    );
    let app =
        axum::Router::new().route("/", axum::routing::get(move || async move { axum::response::Html(page) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://localhost:{}/", listener.local_addr().unwrap().port());
    (url, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

#[tokio::test]
async fn in_a_real_browser_a_form_on_another_site_cannot_order_with_the_cached_basic_login() {
    let t = TestBroker::new().await;
    let config = config_with_login(&t, "buyer", "csrf pass");
    let app = TestApp::spawn_with(t, config, true).await;
    let tap = app.tap().await;
    let browser = crate::browser::Browser::start().await;
    // The buyer is signed in: the browser holds the basic login for the portal.
    browser.goto(&app.url("/").replace("http://", "http://buyer:csrf%20pass@")).await;
    assert_eq!(browser.text("h1").await, "Buy a product");

    let (evil, server) = evil_site(&app.base).await;
    browser.goto(&evil).await;
    browser.click("#win").await;
    browser.wait_for_url(|u| u == app.url("/")).await;
    assert_eq!(browser.text("body").await, "Cross-site request refused.");

    // The portal's own form still orders.
    browser.goto(&app.url("/")).await;
    browser.type_into("#client", "csrf02").await;
    browser.click("#submit").await;
    let published = app.t.take(&tap, 1, WAIT).await;
    assert_eq!(
        published[0].routing_key.as_str(),
        "mycompany.producer.event.csrf02.published",
        "only the portal's own"
    );

    server.abort();
    browser.quit().await;
    app.stop().await;
}
