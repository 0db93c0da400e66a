//! OpenID Connect for the API against a real provider (oidc-provider): its access tokens are
//! accepted, tokens it would not vouch for are refused with 401, a key rotation is followed
//! (and the refetch of its keys is rate-limited), a buyer's token acts for its own client only
//! on every route while the operator's acts for all, and no token or secret reaches a log line.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use eda_common::{Envelope, EventType};
use eda_tests::broker::TestBroker;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;
use crate::ledger::TestLedger;
use crate::provider::{producer_for, OpenIdProvider, AUDIENCE};
use crate::sse::SseReader;

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

async fn order_with(app: &TestApp, token: &str, client: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(token)
        .json(&order_json(client))
        .send()
        .await
        .unwrap()
}

async fn get_with(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn the_providers_tokens_are_accepted_and_every_token_it_would_not_vouch_for_is_refused() {
    let (logs, _guard) = capture_logs();
    let provider = OpenIdProvider::start().await;
    let app = producer_for(&provider, TestBroker::new().await, |c| {
        c.sign_in.oidc_jwks_min_refresh = Duration::ZERO;
    })
    .await;

    let issued = provider.machine_token("acme-machine").await;
    assert_eq!(order_with(&app, &issued, "acme").await.status(), 202, "the provider's own token");

    let claims = |changes: Value| {
        let mut c = json!({"iss": provider.issuer, "aud": AUDIENCE, "sub": "minted", "eda_clients": ["acme"],
                           "iat": now(), "exp": now() + 300});
        c.as_object_mut().unwrap().extend(changes.as_object().unwrap().clone());
        c
    };
    let minted = provider.mint(claims(json!({})), "current", None).await;
    assert_eq!(order_with(&app, &minted, "acme").await.status(), 202, "a token minted as the provider would");

    let (header, rest) = minted.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let other_payload = URL_SAFE_NO_PAD.encode(claims(json!({"eda_clients": ["acme", "other"]})).to_string());
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(json!({})).to_string());
    let refused = [
        ("expired", provider.mint(claims(json!({"exp": now() - 600})), "current", None).await),
        ("not yet valid", provider.mint(claims(json!({"nbf": now() + 600})), "current", None).await),
        ("another audience", provider.mint(claims(json!({"aud": "someone-else"})), "current", None).await),
        (
            "another issuer",
            provider.mint(claims(json!({"iss": "http://127.0.0.1:1"})), "current", None).await,
        ),
        ("no exp", provider.mint(claims(json!({"exp": null})), "current", None).await),
        (
            "nbf as a string",
            provider.mint(claims(json!({"nbf": (now() + 600).to_string()})), "current", None).await,
        ),
        ("tampered claims", format!("{header}.{other_payload}.{signature}")),
        ("a key the provider never published", provider.mint(claims(json!({})), "stranger", None).await),
        ("alg none", format!("{none_header}.{payload}.")),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    for (what, token) in &refused {
        let response = order_with(&app, token, "acme").await;
        assert_eq!(response.status(), 401, "{what}");
    }

    // The provider rotates its key: the producer meets an unknown key id and fetches the keys again.
    let fetched = provider.jwks_fetches().await;
    provider.rotate_keys().await;
    let after_rotation = provider.machine_token("acme-machine").await;
    assert_eq!(order_with(&app, &after_rotation, "acme").await.status(), 202, "the rotated key is followed");
    assert!(provider.jwks_fetches().await > fetched);

    // With a refetch allowed once an hour, unknown key ids do not make the producer ask again.
    let limited = producer_for(&provider, TestBroker::new().await, |c| {
        c.sign_in.oidc_jwks_min_refresh = Duration::from_secs(3600);
    })
    .await;
    let fetched = provider.jwks_fetches().await;
    for kid in ["made-up-1", "made-up-2", "made-up-3"] {
        let token = provider.mint(claims(json!({})), "stranger", Some(kid)).await;
        assert_eq!(order_with(&limited, &token, "acme").await.status(), 401, "{kid}");
    }
    assert_eq!(provider.jwks_fetches().await, fetched, "no refetch within the interval");

    limited.stop().await;
    app.stop().await;
    let logs = logs.text();
    assert!(logs.contains("bearer token refused"), "refusals are logged: {logs}");
    for (what, secret) in refused.iter().map(|(w, t)| (*w, t.as_str())).chain([
        ("the provider's token", issued.as_str()),
        ("the minted token", minted.as_str()),
        ("the client secret", provider.portal_secret.as_str()),
    ]) {
        let signature = secret.rsplit('.').next().unwrap_or(secret);
        assert!(signature.len() < 8 || !logs.contains(signature), "{what} appears in the logs");
    }
}

/// An envelope as a client would build it for `POST /api/v1/events`.
fn envelope(client: &str, action: &str, trace_id: Uuid) -> Value {
    let event_type = EventType::new("mycompany", "producer", client, action).unwrap();
    let body = json!({"client": client, "namespace": client, "product": "product-a"});
    serde_json::from_slice(&Envelope::new(event_type, trace_id, body.as_object().unwrap().clone()).to_json())
        .unwrap()
}

#[tokio::test]
async fn a_buyers_token_is_refused_for_another_client_on_every_route_and_the_operators_is_not() {
    let provider = OpenIdProvider::start().await;
    let ledger = TestLedger::create().await;
    let at = Utc::now() - chrono::Duration::hours(1);
    let acme_tenant = ledger.tenant("acme", "product-a", "dedicated", "provisioned", at).await;
    ledger.tenant("other", "product-a", "dedicated", "provisioned", at).await;
    let app = producer_for(&provider, TestBroker::new().await, |c| {
        c.database_url = Some(ledger.reader_url.clone().into());
    })
    .await;
    let buyer = provider.machine_token("acme-machine").await;
    let operator = provider.machine_token("ops-machine").await;

    // Orders and cancellations.
    assert_eq!(order_with(&app, &buyer, "other").await.status(), 403);
    let accepted: Value = order_with(&app, &buyer, "acme").await.json().await.unwrap();
    let acme_trace = accepted["trace_id"].as_str().unwrap().to_owned();
    let other: Value = order_with(&app, &operator, "other").await.json().await.unwrap();
    let other_trace = other["trace_id"].as_str().unwrap().to_owned();
    let cancel = |token: &str, client: &str| {
        app.client
            .delete(app.url(&format!("/api/v1/orders/{client}/product-a")))
            .bearer_auth(token.to_owned())
            .send()
    };
    assert_eq!(cancel(&buyer, "other").await.unwrap().status(), 403);
    assert_eq!(cancel(&buyer, "acme").await.unwrap().status(), 202);

    // Traces and their live streams.
    assert_eq!(get_with(&app, &buyer, &format!("/api/v1/traces/{other_trace}")).await.status(), 403);
    assert_eq!(get_with(&app, &buyer, &format!("/api/v1/traces/{other_trace}/events")).await.status(), 403);
    assert_eq!(
        get_with(&app, &buyer, &format!("/orders/{other_trace}")).await.status(),
        403,
        "the status page"
    );
    assert_eq!(get_with(&app, &buyer, &format!("/api/v1/traces/{acme_trace}")).await.status(), 200);
    assert_eq!(get_with(&app, &operator, &format!("/api/v1/traces/{acme_trace}")).await.status(), 200);

    // Raw events: another client's event type, another client's body, another client's trace.
    let publish = |token: &str, envelope: Value| {
        app.client.post(app.url("/api/v1/events")).bearer_auth(token.to_owned()).json(&envelope).send()
    };
    assert_eq!(publish(&buyer, envelope("other", "published", Uuid::new_v4())).await.unwrap().status(), 403);
    let mut disguised = envelope("acme", "published", Uuid::new_v4());
    disguised["client"] = "other".into();
    assert_eq!(publish(&buyer, disguised).await.unwrap().status(), 403);
    let into_other = envelope("acme", "published", other_trace.parse().unwrap());
    assert_eq!(publish(&buyer, into_other).await.unwrap().status(), 403, "into another client's trace");
    assert_eq!(publish(&buyer, envelope("acme", "published", Uuid::new_v4())).await.unwrap().status(), 202);
    assert_eq!(
        publish(&operator, envelope("other", "published", Uuid::new_v4())).await.unwrap().status(),
        202
    );

    // Tenants: the API and the page list the buyer's clients only and refuse a filter for another.
    let listed: Value = get_with(&app, &buyer, "/api/v1/tenants").await.json().await.unwrap();
    let clients: Vec<&str> =
        listed["tenants"].as_array().unwrap().iter().map(|t| t["client"].as_str().unwrap()).collect();
    assert_eq!(clients, ["acme"], "{listed}");
    let everyone: Value = get_with(&app, &operator, "/api/v1/tenants").await.json().await.unwrap();
    assert_eq!(everyone["tenants"].as_array().unwrap().len(), 2, "{everyone}");
    assert_eq!(get_with(&app, &buyer, "/api/v1/tenants?client=other").await.status(), 403);
    assert_eq!(get_with(&app, &buyer, "/tenants?client=other").await.status(), 403);
    let page = get_with(&app, &buyer, "/tenants").await.text().await.unwrap();
    assert!(page.contains("data-client=\"acme\"") && !page.contains("data-client=\"other\""), "{page}");
    assert!(page.contains(&acme_tenant.to_string()));

    // The tenants page's live stream carries the buyer's clients' changes only: another client's
    // change, published first, never arrives before the buyer's own.
    let mut live = SseReader::new(get_with(&app, &buyer, "/tenants/live").await);
    app.publish_as("provisioner", &provisioner_event("other", "provisioning", Uuid::new_v4())).await;
    app.publish_as("provisioner", &provisioner_event("acme", "provisioning", Uuid::new_v4())).await;
    let first = live.next(WAIT).await;
    assert_eq!(first.data["client"], "acme", "{first:?}");
    drop(live);

    app.stop().await;
}
