//! The portal's sign-in with the provider: `GET /login` sends the browser to the provider
//! (authorization code flow, PKCE S256, state and nonce kept in a sealed short-lived cookie),
//! `GET /auth/callback` exchanges the code, verifies the ID token and sets the session cookie,
//! `POST /logout` removes it and ends the provider's session, `GET /signed-out` says so.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Provider;
use crate::auth::csrf;
use crate::auth::session::{now, random_token, LoginAttempt, Session, LOGIN_COOKIE, SESSION_COOKIE};
use crate::auth::{Auth, SignIn};
use crate::portal::page;

/// How long a sign-in at the provider may take.
const LOGIN_TTL_SECS: u64 = 600;

/// The sign-in routes, for the portal's router.
pub fn routes<S: Clone + Send + Sync + 'static>(auth: Auth) -> Router<S> {
    Router::new()
        .route("/login", get(login))
        .route(super::CALLBACK_PATH, get(callback))
        .route("/logout", post(logout))
        .route("/signed-out", get(signed_out))
        .with_state(auth)
}

/// A portal path to come back to: local only (no `//host` or scheme), else `/`.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/".into(),
    }
}

async fn login(State(auth): State<Auth>, Query(query): Query<HashMap<String, String>>) -> Response {
    let Some(sign_in) = auth.sign_in() else {
        return (StatusCode::NOT_FOUND, "OpenID Connect sign-in is not configured.\n").into_response();
    };
    begin(sign_in, &local_path(query.get("next").map(String::as_str)))
}

/// The redirect to the provider's authorization endpoint, with the attempt's cookie.
pub fn begin(sign_in: &SignIn, next: &str) -> Response {
    let provider = &sign_in.provider;
    let attempt = LoginAttempt {
        state: random_token(),
        nonce: random_token(),
        verifier: random_token(),
        next: local_path(Some(next)),
        expires: now() + LOGIN_TTL_SECS,
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(attempt.verifier.as_bytes()));
    let mut url = match url::Url::parse(&provider.metadata.authorization_endpoint) {
        Ok(url) => url,
        Err(_) => {
            return (StatusCode::BAD_GATEWAY, "The provider's authorization endpoint is not a URL.\n")
                .into_response()
        }
    };
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &provider.client_id)
        .append_pair("redirect_uri", provider.redirect_url.as_str())
        .append_pair("scope", &provider.scopes)
        .append_pair("state", &attempt.state)
        .append_pair("nonce", &attempt.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let cookie =
        sign_in.sealer.set_cookie(LOGIN_COOKIE, &sign_in.sealer.seal(LOGIN_COOKIE, &attempt), LOGIN_TTL_SECS);
    ([(header::SET_COOKIE, cookie)], Redirect::to(url.as_str())).into_response()
}

/// A refused sign-in: a page saying what failed and how to try again (logged, no secret).
fn refused(status: StatusCode, why: &str) -> Response {
    tracing::warn!(reason = %why, "sign-in refused");
    let main = format!(
        r#"<h1>Sign-in failed</h1><p class="notice" role="alert">{}</p><p><a href="/login" id="sign-in-again">Sign in again</a></p>"#,
        page::escape(why)
    );
    (status, Html(page::layout("Sign-in failed", &main, None))).into_response()
}

async fn callback(
    State(auth): State<Auth>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(sign_in) = auth.sign_in() else {
        return (StatusCode::NOT_FOUND, "OpenID Connect sign-in is not configured.\n").into_response();
    };
    if let Some(error) = query.get("error") {
        return refused(StatusCode::UNAUTHORIZED, &format!("the provider did not sign you in ({error})"));
    }
    let Some(attempt) = sign_in.sealer.open::<LoginAttempt>(LOGIN_COOKIE, &headers) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "no sign-in was under way in this browser (or it took too long)",
        );
    };
    let state_ok =
        query.get("state").is_some_and(|s| bool::from(s.as_bytes().ct_eq(attempt.state.as_bytes())));
    let Some(code) = query.get("code").filter(|_| state_ok) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "the provider's answer is not for this sign-in (state differs)",
        );
    };
    if !sign_in.provider.answered_by_this_provider(query.get("iss").map(String::as_str)) {
        return refused(
            StatusCode::BAD_REQUEST,
            "the answer is not from the configured provider (iss differs or is missing)",
        );
    }
    let claims = match exchange(&sign_in.provider, code, &attempt).await {
        Ok(claims) => claims,
        Err(why) => return refused(StatusCode::BAD_GATEWAY, &why),
    };
    let identity = sign_in.provider.rules.identity(&claims);
    let ttl = sign_in.session_ttl.as_secs().max(60);
    let session = Session {
        name: identity.name.clone(),
        grant: identity.grant,
        csrf: random_token(),
        expires: now() + ttl,
    };
    tracing::info!(identity = %session.name, "signed in");
    let sealer = &sign_in.sealer;
    let mut response = Redirect::to(&attempt.next).into_response();
    let set = response.headers_mut();
    set.append(
        header::SET_COOKIE,
        sealer.set_cookie(SESSION_COOKIE, &sealer.seal(SESSION_COOKIE, &session), ttl),
    );
    set.append(header::SET_COOKIE, sealer.clear_cookie(LOGIN_COOKIE));
    response
}

/// The code exchanged at the token endpoint, and the claims of the ID token it brings, verified
/// (signature, issuer, this client as audience, times, the attempt's nonce).
async fn exchange(provider: &Provider, code: &str, attempt: &LoginAttempt) -> Result<Value, String> {
    let form = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", provider.redirect_url.as_str())
            .append_pair("code_verifier", &attempt.verifier);
        // A confidential client authenticates with HTTP Basic (client_secret_basic), a public one names itself.
        if provider.client_secret.is_none() {
            form.append_pair("client_id", &provider.client_id);
        }
        form.finish()
    };
    let mut request = provider
        .http
        .post(&provider.metadata.token_endpoint)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form);
    if let Some(secret) = &provider.client_secret {
        let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic =
            STANDARD.encode(format!("{}:{}", encode(&provider.client_id), encode(secret.expose_secret())));
        request = request.header(header::AUTHORIZATION, format!("Basic {basic}"));
    }
    let response =
        request.send().await.map_err(|e| format!("the provider's token endpoint did not answer: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        let error = body["error"].as_str().unwrap_or("no error code");
        return Err(format!("the provider's token endpoint refused the code: {status} {error}"));
    }
    let id_token = body["id_token"].as_str().ok_or("the provider's token response has no id_token")?;
    let claims = provider
        .verify(id_token, &provider.client_id)
        .await
        .map_err(|e| format!("the provider's ID token is not valid: {e}"))?;
    let nonce_ok =
        claims["nonce"].as_str().is_some_and(|n| bool::from(n.as_bytes().ct_eq(attempt.nonce.as_bytes())));
    if !nonce_ok {
        return Err("the provider's ID token is not for this sign-in (nonce differs)".into());
    }
    authorized_party(&claims, &provider.client_id)?;
    Ok(claims)
}

/// OpenID Connect Core 3.1.3.7: an ID token for several audiences names the party it was issued
/// to (`azp`), and an `azp` present must be this client.
fn authorized_party(claims: &Value, client_id: &str) -> Result<(), String> {
    let audiences = claims["aud"].as_array().map_or(1, Vec::len);
    match claims["azp"].as_str() {
        Some(azp) if azp != client_id => {
            Err(format!("the provider's ID token was issued to {azp:?}, not this client"))
        }
        None if audiences > 1 => {
            Err("the provider's ID token has several audiences and names no authorized party (azp)".into())
        }
        _ => Ok(()),
    }
}

/// Ends the session: the cookie goes, then the provider's own session (when it says how).
/// Only the session's own form may do it (its CSRF token; the Origin check ran before).
async fn logout(State(auth): State<Auth>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(sign_in) = auth.sign_in() else {
        return (StatusCode::NOT_FOUND, "OpenID Connect sign-in is not configured.\n").into_response();
    };
    if let Some(session) = sign_in.sealer.open::<Session>(SESSION_COOKIE, &headers) {
        let sent = url::form_urlencoded::parse(&body).find(|(k, _)| k == csrf::FORM_FIELD).map(|(_, v)| v);
        if !csrf::token_matches(&session.csrf, sent.as_deref()) {
            tracing::warn!(identity = %session.name, "sign-out refused: the form's CSRF token is not the session's");
            return (StatusCode::FORBIDDEN, "Sign-out refused: reload the page and try again.\n")
                .into_response();
        }
        tracing::info!(identity = %session.name, "signed out");
    }
    let to = sign_in.provider.end_session_url().unwrap_or_else(|| "/signed-out".into());
    ([(header::SET_COOKIE, sign_in.sealer.clear_cookie(SESSION_COOKIE))], Redirect::to(&to)).into_response()
}

async fn signed_out() -> Html<String> {
    let main = r#"<h1>Signed out</h1><p id="signed-out">You are signed out of the eda portal.</p><p><a href="/login" id="sign-in-again">Sign in again</a></p>"#;
    Html(page::layout("Signed out", main, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(local_path(Some("/tenants?client=a")), "/tenants?client=a");
        for bad in ["//evil.example/", "https://evil.example/", "/\\evil.example", "tenants"] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn an_id_token_issued_to_another_party_is_refused() {
        let ok = |claims: Value| authorized_party(&claims, "eda-portal");
        assert!(ok(serde_json::json!({"aud": "eda-portal"})).is_ok());
        assert!(ok(serde_json::json!({"aud": ["eda-portal"], "azp": "eda-portal"})).is_ok());
        assert!(ok(serde_json::json!({"aud": ["eda-portal", "api"], "azp": "eda-portal"})).is_ok());
        let other = ok(serde_json::json!({"aud": "eda-portal", "azp": "other-app"})).unwrap_err();
        assert!(other.contains("\"other-app\""), "{other}");
        let none = ok(serde_json::json!({"aud": ["eda-portal", "api"]})).unwrap_err();
        assert!(none.contains("azp"), "{none}");
    }
}
