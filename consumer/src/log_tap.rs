//! `consumer log`: the audit/debug tap. Each event becomes one JSON line on the output,
//! flushed before the message is acked, so nothing is lost between the broker and the pipe.

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::SecondsFormat;
use eda_common::delivery::{self, ConsumerSpec, Handler, HandlerError, Message};
use eda_common::topology::ServiceQueue;
use eda_common::Envelope;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::config::LogArgs;
use crate::engine::check_segment;
use crate::error::{Error, Result};
use eda_common::service::Service;

/// Writes events as JSON lines to `W`; when the output breaks it stops the tap.
#[derive(Debug)]
pub struct LogTap<W> {
    out: Mutex<W>,
    stop: CancellationToken,
}

/// The line printed for one message.
pub fn line(m: &Message) -> serde_json::Value {
    json!({
        "received_at": m.received_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "routing_key": m.routing_key,
        "message_id": m.message_id,
        "redelivered": m.redelivered,
        "event": m.envelope,
    })
}

impl<W: Write + Send + 'static> Handler for LogTap<W> {
    async fn handle(&self, m: &Message) -> std::result::Result<Vec<Envelope>, HandlerError> {
        let mut text = line(m).to_string();
        text.push('\n');
        let written = {
            let mut out = self.out.lock().expect("log output lock poisoned");
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        };
        if let Err(error) = written {
            // A closed pipe will not reopen: stop taking messages; this one goes to a retry.
            tracing::error!(trace_id = %m.envelope.trace_id(), %error, "output is broken; stopping the tap");
            self.stop.cancel();
            return Err(HandlerError::transient(format!("writing the event line: {error}")));
        }
        Ok(Vec::new())
    }
}

/// Consumes the durable queue `<prefix>.<NAME>` (default `log`) and prints every event to `out`.
pub async fn run<W: Write + Send + 'static>(
    rt: &Service,
    args: LogArgs,
    out: W,
    shutdown: CancellationToken,
) -> Result<()> {
    check_segment("--name", &args.name)?;
    let stop = shutdown.child_token();
    let tap = LogTap { out: Mutex::new(out), stop: stop.clone() };
    let spec = ConsumerSpec {
        queue: ServiceQueue { service: args.name.clone(), bindings: args.bindings },
        concurrency: 1,
        emit_failed: false,
    };
    delivery::run(&rt.publisher, spec, Arc::new(tap), stop.clone())
        .await
        .map_err(|e| Error::Usage(format!("consuming {}: {e:#}", args.name)))?;
    if stop.is_cancelled() && !shutdown.is_cancelled() {
        return Err(Error::Output(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the output closed")));
    }
    Ok(())
}
