//! `dlq replay`: each selected dead letter goes back to the queue it failed in, as a fresh
//! first delivery (retrace_intent 0, no dead-letter headers), and is removed from `dead` only
//! once the broker confirmed the copy.

use std::fmt;
use std::io::Write;

use eda_common::delivery::{DEAD_ERROR, DEAD_FAILED_AT, DEAD_QUEUE};
use eda_common::publisher::Outgoing;
use lapin::message::Delivery;
use lapin::options::BasicAckOptions;
use lapin::types::{AMQPValue, FieldTable};
use serde_json::Value;

use super::progress::Progress;
use super::{DeadLetter, Inspection};
use crate::config::ReplayArgs;
use crate::error::{Error, Result};
use eda_common::service::Service;

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Messages selected by `--trace-id` / `--all`.
    pub matched: usize,
    /// Published back, confirmed, and removed from `dead` (0 in a dry run).
    pub replayed: usize,
    /// Selected but without `x-eda-queue`, so with nowhere to go: left in `dead`.
    pub no_queue: usize,
    pub dry_run: bool,
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run { "would replay" } else { "replayed" };
        let done = if self.dry_run { self.matched - self.no_queue } else { self.replayed };
        write!(f, "{verb} {done} of {} matching message(s)", self.matched)?;
        if self.no_queue > 0 {
            write!(f, "; {} without an x-eda-queue header left in place", self.no_queue)?;
        }
        Ok(())
    }
}

/// Replays the dead letters `args` selects, writing one line per message to `out`.
pub async fn replay(rt: &Service, args: &ReplayArgs, out: &mut impl Write) -> Result<ReplayReport> {
    if args.trace_id.is_none() && !args.all {
        return Err(Error::Usage("dlq replay needs --trace-id ID or --all".into()));
    }
    let mut inspection = Inspection::open(rt).await?;
    let mut report = ReplayReport { dry_run: args.dry_run, ..Default::default() };
    let mut progress = Progress::new(u64::from(inspection.at_start));
    let mut replayed = std::collections::HashSet::new();
    let result = async {
        // Until the queue has nothing ready: every message taken is held, so each is seen once.
        while let Some(delivery) = inspection.next().await? {
            progress.inc();
            let letter = DeadLetter::read(&delivery);
            if !args.all && letter.trace_id != args.trace_id {
                continue; // held unacked: back in `dead` when the channel closes
            }
            // A replayed message that failed again while we run is parked anew: leave it, or
            // `--all` would loop on it.
            if letter.message_id.as_ref().is_some_and(|id| replayed.contains(id)) {
                continue;
            }
            report.matched += 1;
            let Some(queue) = letter.queue.clone() else {
                report.no_queue += 1;
                writeln!(out, "skip {}: no {DEAD_QUEUE} header", describe(&letter))?;
                continue;
            };
            if args.dry_run {
                writeln!(out, "would replay {} to {queue}", describe(&letter))?;
                continue;
            }
            rt.publisher.send(fresh_copy(&delivery, &queue)).await.map_err(|source| Error::Publish {
                what: format!("{} to {queue}", describe(&letter)),
                source: Box::new(source),
            })?;
            let removed = delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .map_err(Error::amqp("removing a replayed message from dead"))?;
            if !removed {
                // The copy is out; the original stays in `dead`. Replaying it again later yields a
                // duplicate with the same message id, which consumers drop.
                return Err(Error::Usage(format!(
                    "replayed {} but the channel closed before it was removed from dead",
                    describe(&letter)
                )));
            }
            inspection.released();
            report.replayed += 1;
            replayed.extend(letter.message_id.clone());
            writeln!(out, "replayed {} to {queue}", describe(&letter))?;
        }
        Ok(())
    }
    .await;
    progress.finish();
    inspection.close().await;
    result.map(|()| report)
}

fn describe(l: &DeadLetter) -> String {
    format!(
        "{} ({}, trace {})",
        l.message_id.as_deref().unwrap_or("<no message id>"),
        l.event_type.as_deref().unwrap_or("<unknown event type>"),
        l.trace_id.map_or_else(|| "-".to_owned(), |t| t.to_string()),
    )
}

/// The dead letter as a first delivery to `queue` (default exchange): same body and properties,
/// `retrace_intent` 0 in body and header, no dead-letter or broker death headers.
pub(crate) fn fresh_copy(delivery: &Delivery, queue: &str) -> Outgoing {
    let props = delivery.properties.clone();
    let mut headers = FieldTable::default();
    if let Some(old) = props.headers() {
        for (k, v) in old.inner() {
            if !is_death_header(k.as_str()) {
                headers.insert(k.clone(), v.clone());
            }
        }
    }
    headers.insert("retrace_intent".into(), AMQPValue::LongLongInt(0));
    Outgoing {
        exchange: String::new(),
        routing_key: queue.to_owned(),
        body: reset_retrace_intent(&delivery.data),
        properties: props.with_headers(headers).with_delivery_mode(2),
        mandatory: true,
    }
}

fn is_death_header(name: &str) -> bool {
    [DEAD_QUEUE, DEAD_ERROR, DEAD_FAILED_AT].contains(&name)
        || name.starts_with("x-eda-")
        || name == "x-death"
        || name.starts_with("x-first-death-")
        || name.starts_with("x-last-death-")
}

/// `MessageAttributes.retrace_intent` set to "0" when the body is an envelope; other bytes unchanged.
fn reset_retrace_intent(body: &[u8]) -> Vec<u8> {
    let Ok(Value::Object(mut root)) = serde_json::from_slice::<Value>(body) else { return body.to_vec() };
    match root.get_mut("MessageAttributes") {
        Some(Value::Object(attributes)) if attributes.contains_key("retrace_intent") => {
            attributes.insert("retrace_intent".into(), "0".into());
            serde_json::to_vec(&root).expect("a JSON value always serializes")
        }
        _ => body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retrace_intent_is_reset_in_envelopes_and_other_bodies_are_kept() {
        let body =
            br#"{"client":"c1","MessageAttributes":{"trace_id":"x","retrace_intent":"3"},"Metadata":{}}"#;
        let reset: Value = serde_json::from_slice(&reset_retrace_intent(body)).unwrap();
        assert_eq!(reset["MessageAttributes"]["retrace_intent"], "0");
        assert_eq!(reset["client"], "c1");
        assert_eq!(reset_retrace_intent(b"{not json"), b"{not json");
        assert_eq!(reset_retrace_intent(br#"{"a":1}"#), br#"{"a":1}"#);
    }

    #[test]
    fn dead_letter_and_broker_death_headers_are_dropped() {
        for h in ["x-eda-queue", "x-eda-error", "x-eda-failed-at", "x-death", "x-first-death-queue"] {
            assert!(is_death_header(h), "{h}");
        }
        assert!(!is_death_header("trace_id"));
        assert!(!is_death_header("ce-type"));
    }
}
