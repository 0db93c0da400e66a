//! Fuzzes envelope decoding: wire format v1 JSON, CloudEvents structured mode, and binary mode
//! with `ce-` / `cloudEvents_` / `cloudEvents:` headers. Decoding must never panic, and whatever
//! it accepts must write out and read back to the same envelope.
#![no_main]

use eda_common::envelope::{Envelope, Headers};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the mode; header lines (name:value) precede a blank line in binary mode.
    let Some((&mode, rest)) = data.split_first() else { return };
    let (content_type, headers, body) = match mode % 4 {
        0 => (None, Headers::new(), rest),
        1 => (Some("application/cloudevents+json"), Headers::new(), rest),
        _ => {
            let text = String::from_utf8_lossy(rest);
            let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
            let prefix = if mode % 4 == 2 { "ce-" } else { "cloudEvents_" };
            let mut headers = Headers::new();
            for line in head.lines() {
                if let Some((k, v)) = line.split_once(':') {
                    headers.insert(format!("{prefix}{k}"), v.to_owned());
                }
            }
            let body = body.as_bytes().to_vec();
            check(Some("application/json"), &headers, &body);
            return;
        }
    };
    check(content_type, &headers, body);
});

fn check(content_type: Option<&str>, headers: &Headers, body: &[u8]) {
    if let Ok(decoded) = Envelope::decode(body, content_type, headers) {
        let written = decoded.envelope.to_json();
        let again = Envelope::from_json(&written).expect("an envelope we wrote must read back");
        assert_eq!(again.to_json(), written, "write → read → write must be stable");
    }
}
