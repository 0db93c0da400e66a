//! `consumer log`: one JSON line per event on the output, acked only once written.

use std::io::Write;

use consumer::config::LogArgs;
use eda_tests::broker::json;
use tokio::sync::mpsc;

use crate::helpers::*;

/// An output that hands every complete line to the test.
struct Lines {
    buf: Vec<u8>,
    tx: mpsc::UnboundedSender<String>,
}

impl Write for Lines {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        while let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let _ = self.tx.send(String::from_utf8(line).unwrap());
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An output that is closed, like a pipe whose reader went away.
struct Broken;

impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_log_tap_prints_each_event_as_one_json_line_and_acks_it() {
    let mut h = Harness::new(2).await;
    h.t.track_service("log", LEVELS);
    let rt = h.runtime("log").await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let args = LogArgs { bindings: vec!["*.*.event.*.published".into()], name: "log".into() };
    let (stop, ready) = (h.shutdown.clone(), rt.health.readiness.clone());
    let out = Lines { buf: Vec::new(), tx };
    let run = tokio::spawn(async move { consumer::log_tap::run(&rt, args, out, stop).await });
    tokio::time::timeout(WAIT, ready.wait_for("consumer", true)).await.unwrap();
    let first = h.publish_order("c1").await;
    let second = h.publish_order("c2").await;

    for expected in [first, second] {
        let line = tokio::time::timeout(WAIT, rx.recv()).await.unwrap().unwrap();
        assert_eq!(line.matches('\n').count(), 1, "exactly one line: {line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["routing_key"], expected.event_type().as_str());
        assert_eq!(v["event"]["MessageAttributes"]["trace_id"], expected.trace_id().to_string());
        assert_eq!(v["event"]["client"], expected.body["client"]);
        assert!(v["message_id"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(v["received_at"].as_str().unwrap().ends_with('Z'));
    }
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("log")).await, 0, "printed events were acked");
    h.finish().await;
}

#[tokio::test]
async fn a_broken_output_stops_the_tap_and_keeps_the_event() {
    let mut h = Harness::new(2).await;
    h.t.track_service("log", LEVELS);
    let rt = h.runtime("log").await;
    let args = LogArgs { bindings: vec!["#".into()], name: "log".into() };
    let (stop, ready) = (h.shutdown.clone(), rt.health.readiness.clone());
    let run = tokio::spawn(async move { consumer::log_tap::run(&rt, args, Broken, stop).await });
    tokio::time::timeout(WAIT, ready.wait_for("consumer", true)).await.unwrap();
    let order = h.publish_order("c1").await;
    let ended = tokio::time::timeout(WAIT, run).await.expect("the tap stops").unwrap();
    let error = ended.unwrap_err().to_string();
    assert!(error.contains("output"), "{error}");
    // Not printed, so not lost: after its retry delay it is back in the tap's queue.
    let kept = h.t.take(&h.t.name("log"), 1, WAIT).await;
    assert_eq!(json(&kept[0])["MessageAttributes"]["trace_id"], order.trace_id().to_string());
    h.finish().await;
}
