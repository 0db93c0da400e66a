//! The layers that guard the API and the portal; health, metrics and static assets stay open.
//! Each puts the request's [`Identity`] in its extensions for the handlers' per-client checks.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Auth, Identified};
use crate::error::ApiError;

/// API: a bearer token (static or the provider's JWT) or the basic-auth login, else a JSON 401.
/// The portal's session cookie counts for reading only (the status page's live stream): a
/// state-changing API call needs an `Authorization` header, which no other site can make a
/// browser send.
pub async fn require_api(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    let reading = matches!(*request.method(), Method::GET | Method::HEAD);
    match auth.identify(request.headers(), reading).await {
        Identified::As(identity) => {
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        Identified::Refused(why) => {
            tracing::info!(path = %request.uri().path(), reason = %why, "API request refused");
            unauthorized(&auth)
        }
        Identified::Nobody => unauthorized(&auth),
    }
}

fn unauthorized(auth: &Auth) -> Response {
    ApiError::Unauthorized {
        basic_realm: auth.has_login() && auth.inner.tokens.is_empty() && auth.sign_in().is_none(),
    }
    .into_response()
}

/// Portal: the session cookie, the basic-auth login or a token; else, with OpenID Connect, a
/// page load goes to the provider's sign-in, and otherwise a 401 that makes the browser ask
/// for the login.
pub async fn require_portal(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    match auth.identify(request.headers(), true).await {
        Identified::As(identity) => {
            request.extensions_mut().insert(identity);
            return next.run(request).await;
        }
        Identified::Refused(why) => {
            tracing::info!(path = %request.uri().path(), reason = %why, "portal request refused")
        }
        Identified::Nobody => {}
    }
    if let (Some(sign_in), &Method::GET) = (auth.sign_in(), request.method()) {
        let next = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
        return super::oidc::login::begin(sign_in, &next);
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
