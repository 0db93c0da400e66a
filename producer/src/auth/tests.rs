//! Unit tests of credential checking.

use axum::http::HeaderValue;
use base64::Engine;

use super::*;

fn headers(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    h
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

#[test]
fn no_credentials_refuse_to_start_unless_insecure() {
    assert!(matches!(Auth::new(None, None, false), Err(AuthError::NoCredentials)));
    let empty: SecretString = " , ".to_owned().into();
    assert!(matches!(Auth::new(Some(&empty), None, false), Err(AuthError::NoCredentials)));
    assert!(Auth::new(None, None, true).unwrap().is_open());
}

#[test]
fn a_basic_auth_setting_without_a_valid_hash_is_refused() {
    let plain: SecretString = "admin:secret".to_owned().into();
    assert!(matches!(Auth::new(None, Some(&plain), false), Err(AuthError::BadBasicAuth(_))));
}

#[tokio::test]
async fn any_configured_token_is_accepted_and_nothing_else() {
    let tokens: SecretString = "alpha, beta".to_owned().into();
    let auth = Auth::new(Some(&tokens), None, false).unwrap();
    assert!(auth.allows(&headers("Bearer alpha")).await);
    assert!(auth.allows(&headers("bearer beta")).await);
    assert!(!auth.allows(&headers("Bearer alph")).await);
    assert!(!auth.allows(&headers("Bearer ")).await);
    assert!(!auth.allows(&HeaderMap::new()).await);
    assert!(!auth.allows(&headers(&basic("alpha", "alpha"))).await);
}

#[tokio::test]
async fn the_basic_login_needs_the_user_and_the_password() {
    let setting: SecretString = format!("ops:{}", password::hash_password("pw1").unwrap()).into();
    let auth = Auth::new(None, Some(&setting), false).unwrap();
    assert!(auth.allows(&headers(&basic("ops", "pw1"))).await);
    assert!(auth.allows(&headers(&basic("ops", "pw1"))).await, "again, from the verified cache");
    assert!(!auth.allows(&headers(&basic("ops", "pw2"))).await);
    assert!(!auth.allows(&headers(&basic("root", "pw1"))).await);
    assert!(!auth.allows(&headers("Basic !!!not-base64")).await);
}
