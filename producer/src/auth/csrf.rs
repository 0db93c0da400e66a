//! Cross-site request forgery: a state-changing portal request must come from the portal's
//! own pages. Browsers say where a request comes from (`Sec-Fetch-Site`, else `Origin`); a
//! cross-site one is refused with 403 and logged, whatever the credential (basic auth too,
//! which a browser would otherwise resend on its own). OpenID Connect sessions also carry a
//! token in every form ([`token_matches`]).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::Auth;
use crate::error::ApiError;

/// The form field that carries a session's CSRF token.
pub const FORM_FIELD: &str = "csrf";

/// Portal (and API) layer: refuses a state-changing request a browser says came from another
/// site: 403, plain text on the portal, the API's JSON error on the API.
pub async fn refuse_cross_site(State(auth): State<Auth>, request: Request, next: Next) -> Response {
    let method = request.method();
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    if let Err(why) = from_this_site(request.headers(), auth.public_origin().as_deref()) {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("-");
        tracing::warn!(
            method = %method,
            path = %request.uri().path(),
            origin = header(header::ORIGIN.as_str()),
            sec_fetch_site = header("sec-fetch-site"),
            "cross-site request refused: {why}"
        );
        if request.uri().path().starts_with("/api/") {
            return ApiError::Forbidden("cross-site request refused".into()).into_response();
        }
        return (StatusCode::FORBIDDEN, "Cross-site request refused.\n").into_response();
    }
    next.run(request).await
}

/// `Ok` unless the browser's headers say the request came from elsewhere: `Sec-Fetch-Site`
/// must be `same-origin` (or `none`: typed by the user); without it, `Origin` must be this
/// host (or `public_origin`, the address the provider redirects to). A request with neither
/// header is not from a browser that could be led to forge it.
pub fn from_this_site(headers: &HeaderMap, public_origin: Option<&str>) -> Result<(), &'static str> {
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("?"));
    if let Some(site) = text("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err("Sec-Fetch-Site is not same-origin"),
        };
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else { return Ok(()) };
    if public_origin.is_some_and(|o| o.eq_ignore_ascii_case(origin)) {
        return Ok(());
    }
    let host = text(header::HOST.as_str());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err("Origin is not this site"),
    }
}

/// Whether a form's token is the session's, compared in constant time.
pub fn token_matches(expected: &str, sent: Option<&str>) -> bool {
    sent.is_some_and(|sent| bool::from(expected.as_bytes().ct_eq(sent.as_bytes())))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, HeaderValue::from_static(value));
        }
        h
    }

    #[test]
    fn cross_site_requests_are_told_apart_from_the_portals_own() {
        let host = ("host", "eda.example:8080");
        assert!(from_this_site(&headers(&[host, ("sec-fetch-site", "same-origin")]), None).is_ok());
        assert!(from_this_site(&headers(&[host, ("sec-fetch-site", "none")]), None).is_ok());
        assert!(from_this_site(&headers(&[host, ("sec-fetch-site", "cross-site")]), None).is_err());
        assert!(from_this_site(&headers(&[host, ("sec-fetch-site", "same-site")]), None).is_err());
        let evil = ("origin", "http://evil.example");
        assert!(from_this_site(&headers(&[host, evil]), None).is_err());
        assert!(from_this_site(&headers(&[host, ("origin", "http://eda.example:8080")]), None).is_ok());
        assert!(from_this_site(&headers(&[host, ("origin", "null")]), None).is_err());
        let public = Some("https://eda.example.com");
        assert!(from_this_site(&headers(&[host, ("origin", "https://eda.example.com")]), public).is_ok());
        assert!(from_this_site(&headers(&[host]), None).is_ok(), "no browser: nothing to forge");
    }

    #[test]
    fn the_form_token_must_be_the_sessions() {
        assert!(token_matches("abc", Some("abc")));
        assert!(!token_matches("abc", Some("abd")));
        assert!(!token_matches("abc", None));
    }
}
