//! The portal's OpenID Connect sign-in in a real headless browser, against a real provider
//! (oidc-provider): the buyer of `acme` signs in at the provider, orders for acme, is refused
//! for `other`, and sees only acme on every page; signing out ends the session; the operator
//! then signs in and sees every client; another replica with the same session key serves the
//! session. No cookie or client secret reaches a log line.

use chrono::Utc;
use eda_tests::broker::TestBroker;

use crate::browser::Browser;
use crate::helpers::*;
use crate::ledger::TestLedger;
use crate::provider::{producer_for, OpenIdProvider};

/// Signs in as `login` on the provider's login page the browser was sent to, and waits to be
/// back on the portal at `back` (a path).
async fn sign_in_at_the_provider(
    browser: &Browser,
    provider: &OpenIdProvider,
    login: &str,
    app: &TestApp,
    back: &str,
) {
    browser.wait_for_url(|u| u.starts_with(&provider.issuer)).await;
    browser.type_into("input[name='login']", login).await;
    browser.type_into("input[name='password']", "any password").await;
    browser.click("button[type='submit']").await;
    let want = app.url(back);
    browser.wait_for_url(|u| u == want).await;
}

async fn rows(browser: &Browser) -> Vec<String> {
    let count = browser.find_all("#tenants tbody tr").await;
    let mut clients = Vec::new();
    for i in 1..=count {
        clients
            .push(browser.text(&format!("#tenants tbody tr:nth-child({i}) td[data-label='Client']")).await);
    }
    clients
}

#[tokio::test]
async fn a_buyer_signs_in_orders_for_its_client_only_sees_only_it_and_signs_out_and_the_operator_sees_all() {
    let (logs, _guard) = capture_logs();
    let provider = OpenIdProvider::start().await;
    let ledger = TestLedger::create().await;
    let at = Utc::now() - chrono::Duration::hours(1);
    ledger.tenant("acme", "product-a", "dedicated", "provisioned", at).await;
    let other_trace = ledger.tenant("other", "product-b", "classic", "provisioned", at).await;
    let key = format!("the-replicas-shared-session-key-{}", uuid::Uuid::new_v4().simple());
    let app = producer_for(&provider, TestBroker::new().await, |c| {
        c.database_url = Some(ledger.reader_url.clone().into());
        c.sign_in.session_key = Some(key.clone().into());
    })
    .await;
    let tap = app.tap().await;
    let browser = Browser::start().await;

    // The portal sends the browser to the provider, which sends it back signed in.
    browser.goto(&app.url("/")).await;
    sign_in_at_the_provider(&browser, &provider, "buyer", &app, "/").await;
    assert_eq!(browser.text("#signed-in-as").await, "buyer");
    let session = browser.cookies().await.into_iter().find(|(name, _)| name == "eda_session");
    let (_, session_cookie) = session.expect("the session cookie is set");

    // An order for acme goes through; one for other is refused at the client field.
    browser.type_into("#client", "acme").await;
    browser.click("#submit").await;
    let published = app.t.take(&tap, 1, WAIT).await.remove(0);
    assert_eq!(published.routing_key.as_str(), "mycompany.producer.event.acme.published");
    browser.wait_for_url(|u| u.contains("/orders/")).await;
    assert_eq!(browser.wait_for_text("status", "accepted").await, "accepted");
    browser.click("#nav-order").await;
    browser.wait_for_url(|u| u == app.url("/")).await;
    browser.type_into("#client", "other").await;
    browser.click("#submit").await;
    assert!(browser
        .wait_for_css_text("#client-error", "you may not act for client \"other\"")
        .await
        .contains("other"));
    assert_eq!(app.t.queue_len(&tap).await, 0, "nothing was ordered for other");

    // The tenants page lists acme only, and other's trace is refused.
    browser.goto(&app.url("/tenants")).await;
    assert_eq!(rows(&browser).await, ["acme"]);
    browser.goto(&app.url(&format!("/orders/{other_trace}"))).await;
    assert_eq!(browser.text("h1").await, "This order is not one of your clients'");

    // Signing out ends the portal's session and the provider's: the next page asks to sign in.
    browser.goto(&app.url("/tenants")).await;
    browser.click("#sign-out").await;
    browser.wait_for_url(|u| u.starts_with(&provider.issuer)).await;
    browser.click("#confirm-logout").await;
    browser.wait_for_url(|u| u == app.url("/signed-out")).await;
    assert!(browser.cookies().await.iter().all(|(name, _)| name != "eda_session"), "the cookie is gone");
    browser.goto(&app.url("/tenants")).await;

    // The operator signs in and sees every client.
    sign_in_at_the_provider(&browser, &provider, "operator", &app, "/tenants").await;
    assert_eq!(browser.text("#signed-in-as").await, "operator");
    assert_eq!(rows(&browser).await, ["acme", "other"]);

    // The session is the cookie: another replica with the same key serves it, one with another
    // key sends the browser to sign in.
    let (_, operator_cookie) = browser.cookies().await.into_iter().find(|(n, _)| n == "eda_session").unwrap();
    let same_key =
        producer_for(&provider, TestBroker::new().await, |c| c.sign_in.session_key = Some(key.into())).await;
    let other_key = producer_for(&provider, TestBroker::new().await, |_| {}).await;
    let with_cookie = |replica: &TestApp| {
        let request =
            replica.client.get(replica.url("/")).header("cookie", format!("eda_session={operator_cookie}"));
        request.send()
    };
    let served = with_cookie(&same_key).await.unwrap();
    assert_eq!(served.status(), 200);
    assert!(served.text().await.unwrap().contains(r#"id="signed-in-as">operator<"#));
    let refused = with_cookie(&other_key).await.unwrap();
    assert_eq!(refused.status(), 303);
    assert!(refused.headers()["location"].to_str().unwrap().starts_with(&provider.issuer));

    browser.quit().await;
    same_key.stop().await;
    other_key.stop().await;
    app.stop().await;
    let logs = logs.text();
    assert!(logs.contains("signed in") && logs.contains("signed out"), "{logs}");
    assert!(!logs.contains(&session_cookie), "the session cookie appears in the logs");
    assert!(!logs.contains(&operator_cookie), "the operator's session cookie appears in the logs");
    assert!(!logs.contains(&provider.portal_secret), "the client secret appears in the logs");
}
