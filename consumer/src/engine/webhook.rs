//! `--webhook URL`: the envelope is POSTed as JSON with `traceparent` and binary-mode `ce-*`
//! headers. 2xx = done (a JSON object body is the follow-up), 5xx/408/409/425/429, timeouts
//! and connection errors = try again later, any other status = never.

use std::time::Duration;

use eda_common::config::redact_url;
use eda_common::delivery::{HandlerError, Message};
use eda_common::envelope::{cloudevent_headers, traceparent, MAX_BODY_BYTES};
use reqwest::StatusCode;
use serde_json::{Map, Value};

use super::output::{excerpt, parse_answer};
use crate::error::{Error, Result};

/// How much of an error response body is quoted in the reason.
const BODY_EXCERPT_BYTES: usize = 2048;

/// An HTTP endpoint that handles events.
#[derive(Debug, Clone)]
pub struct Webhook {
    url: reqwest::Url,
    client: reqwest::Client,
}

impl Webhook {
    /// A client with `timeout` per request (connect included); only `http` URLs.
    pub fn new(url: &str, timeout: Duration, name: &str) -> Result<Webhook> {
        let fail = |reason: String| Error::Webhook { url: redact_url(url), reason };
        let parsed = reqwest::Url::parse(url).map_err(|e| fail(e.to_string()))?;
        if parsed.scheme() != "http" {
            return Err(fail(format!(
                "scheme {:?} is not supported: use http (put TLS in a sidecar or ingress)",
                parsed.scheme()
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(format!("eda-consumer/{} ({name})", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| fail(e.to_string()))?;
        Ok(Webhook { url: parsed, client })
    }

    pub fn redacted_url(&self) -> String {
        redact_url(self.url.as_str())
    }

    /// POSTs one message; a JSON object in a 2xx JSON response is the follow-up body.
    pub async fn call(&self, m: &Message) -> std::result::Result<Option<Map<String, Value>>, HandlerError> {
        let env = &m.envelope;
        let source = env.metadata.publisher.clone().unwrap_or_else(|| env.event_type().app().to_owned());
        let mut request = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("traceparent", traceparent(env.trace_id(), &m.message_id))
            .header("x-eda-retrace-intent", env.attributes.retrace_intent.to_string());
        for (name, value) in cloudevent_headers(env, &m.message_id, &source) {
            request = request.header(name, value);
        }
        let mut response = request.body(env.to_json()).send().await.map_err(|e| {
            let kind = if e.is_timeout() { "timed out" } else { "failed" };
            HandlerError::transient(format!("POST {} {kind}: {e}", self.redacted_url()))
        })?;
        let status = response.status();
        let is_json = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            HandlerError::transient(format!("reading the response of {}: {e}", self.redacted_url()))
        })? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(HandlerError::permanent(format!(
                    "the response of {} is over {MAX_BODY_BYTES} bytes",
                    self.redacted_url()
                )));
            }
            body.extend_from_slice(&chunk);
        }
        classify(status, &body)?;
        // A plain "OK" from a 2xx is common and means "done, nothing to emit".
        if !is_json {
            return Ok(None);
        }
        parse_answer(&body, "the webhook's response body")
    }
}

/// Status → outcome, with the start of the response body in the reason.
fn classify(status: StatusCode, body: &[u8]) -> std::result::Result<(), HandlerError> {
    if status.is_success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(body);
    let reason = format!("webhook answered {status}: {}", excerpt(text.trim(), BODY_EXCERPT_BYTES));
    let retry_later = status.is_server_error() || matches!(status.as_u16(), 408 | 409 | 425 | 429);
    if retry_later {
        Err(HandlerError::transient(reason))
    } else {
        Err(HandlerError::permanent(reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_designed() {
        assert!(classify(StatusCode::OK, b"").is_ok());
        assert!(classify(StatusCode::NO_CONTENT, b"").is_ok());
        for transient in [500, 502, 503, 408, 409, 429] {
            let e = classify(StatusCode::from_u16(transient).unwrap(), b"later").unwrap_err();
            assert!(e.is_transient(), "{transient}");
        }
        let e = classify(StatusCode::UNPROCESSABLE_ENTITY, b"{\"error\":\"no product\"}").unwrap_err();
        assert!(!e.is_transient());
        assert_eq!(e.reason(), "webhook answered 422 Unprocessable Entity: {\"error\":\"no product\"}");
    }

    #[test]
    fn only_http_urls_are_accepted_and_errors_hide_passwords() {
        assert!(Webhook::new("http://127.0.0.1:9/hook", Duration::from_secs(1), "n").is_ok());
        let e = Webhook::new("https://u:secret@example.invalid/", Duration::from_secs(1), "n").unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("not supported") && !shown.contains("secret"), "{shown}");
        assert!(Webhook::new("not a url", Duration::from_secs(1), "n").is_err());
    }
}
