//! The layers that guard the API and the portal; health, metrics and static assets stay open.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Auth;
use crate::error::ApiError;

/// API: a bearer token or the basic-auth login, else a JSON 401.
pub async fn require_api(State(auth): State<Auth>, request: Request, next: Next) -> Response {
    if auth.allows(request.headers()).await {
        return next.run(request).await;
    }
    ApiError::Unauthorized { basic_realm: auth.has_login() && auth.inner.tokens.is_empty() }.into_response()
}

/// Portal: the basic-auth login (or a token), else a 401 that makes the browser ask for it.
pub async fn require_portal(State(auth): State<Auth>, request: Request, next: Next) -> Response {
    if auth.allows(request.headers()).await {
        return next.run(request).await;
    }
    let mut response = (StatusCode::UNAUTHORIZED, "Sign in to use the eda portal.\n").into_response();
    let challenge = if auth.has_login() {
        "Basic realm=\"eda producer\", charset=\"UTF-8\""
    } else {
        "Bearer realm=\"eda producer\""
    };
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}
