//! `consumer run --webhook`: 2xx with a follow-up, 5xx then 2xx, 4xx to the dead letters.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use eda_common::delivery::DEAD_ERROR;
use eda_tests::broker::{headers, json};
use tokio::sync::mpsc;

use crate::helpers::*;

/// One request the test server saw.
struct Seen {
    headers: HeaderMap,
    body: serde_json::Value,
}

type Answer = (u16, &'static str, &'static str);

#[derive(Clone)]
struct Hook {
    answers: Arc<Mutex<Vec<Answer>>>,
    seen: mpsc::UnboundedSender<Seen>,
}

async fn hook(State(h): State<Hook>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let _ = h.seen.send(Seen { headers, body });
    let (status, content_type, text) = {
        let mut answers = h.answers.lock().unwrap();
        if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers[0]
        }
    };
    (StatusCode::from_u16(status).unwrap(), [("content-type", content_type)], text)
}

/// A webhook test server answering `answers` in turn (the last one repeating).
async fn serve(answers: Vec<Answer>) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(Hook { answers: Arc::new(Mutex::new(answers)), seen: tx });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(WAIT, rx.recv()).await.expect("webhook called").unwrap()
}

#[tokio::test]
async fn a_2xx_json_answer_becomes_the_follow_up_and_the_request_carries_trace_headers() {
    let mut h = Harness::new(2).await;
    let (url, mut seen) = serve(vec![(200, "application/json", r#"{"ticket":"T-1"}"#)]).await;
    let run = h.engine(run_args("hooked", "*.*.event.*.published", None, Some(&url))).await;
    let out = h.t.tap("out", "*.hooked.event.*.*").await;
    let order = h.publish_order("c1").await;

    let req = next(&mut seen).await;
    let header = |n: &str| req.headers.get(n).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/json");
    assert!(header("traceparent").contains(&order.trace_id().simple().to_string()));
    assert_eq!(header("ce-type"), "mycompany.producer.event.c1.published");
    assert_eq!(header("ce-specversion"), "1.0");
    assert_eq!(req.body["MessageAttributes"]["trace_id"], order.trace_id().to_string());
    let got = h.t.take(&out, 1, WAIT).await;
    assert_eq!(got[0].routing_key.as_str(), "mycompany.hooked.event.c1.processed");
    assert_eq!(json(&got[0])["ticket"], "T-1");
    assert_eq!(json(&got[0])["MessageAttributes"]["trace_id"], order.trace_id().to_string());
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}

#[tokio::test]
async fn a_5xx_is_retried_and_the_next_2xx_succeeds() {
    let mut h = Harness::new(2).await;
    let answers = vec![(503, "text/plain", "warming up"), (200, "application/json", r#"{"ok":true}"#)];
    let (url, mut seen) = serve(answers).await;
    let run = h.engine(run_args("hooked", "*.*.event.*.published", None, Some(&url))).await;
    let out = h.t.tap("out", "*.hooked.event.*.*").await;
    h.publish_order("c2").await;

    assert_eq!(next(&mut seen).await.body["MessageAttributes"]["retrace_intent"], "0");
    assert_eq!(next(&mut seen).await.body["MessageAttributes"]["retrace_intent"], "1");
    let got = h.t.take(&out, 1, WAIT).await;
    assert_eq!(json(&got[0])["ok"], true);
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}

#[tokio::test]
async fn a_4xx_goes_to_dead_at_once_with_the_response_body_and_a_failed_event() {
    let mut h = Harness::new(2).await;
    let (url, mut seen) = serve(vec![(422, "application/json", r#"{"error":"unknown product"}"#)]).await;
    let run = h.engine(run_args("hooked", "*.*.event.*.published", None, Some(&url))).await;
    let failed = h.t.tap("failed", "*.hooked.event.*.failed").await;
    h.publish_order("c3").await;

    let dead = h.t.take(&h.t.name("dead"), 1, WAIT).await;
    let reason = &headers(&dead[0])[DEAD_ERROR];
    assert!(reason.contains("422") && reason.contains("unknown product"), "{reason}");
    assert_eq!(h.t.take(&failed, 1, WAIT).await[0].routing_key.as_str(), "mycompany.hooked.event.c3.failed");
    next(&mut seen).await;
    assert!(seen.try_recv().is_err(), "a 4xx is never retried");
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}

#[tokio::test]
async fn a_2xx_plain_text_answer_succeeds_without_a_follow_up() {
    let mut h = Harness::new(2).await;
    let (url, mut seen) = serve(vec![(200, "text/plain", "OK")]).await;
    let run = h.engine(run_args("hooked", "*.*.event.*.published", None, Some(&url))).await;
    let out = h.t.tap("out", "*.hooked.event.*.*").await;
    h.publish_order("c4").await;
    next(&mut seen).await;
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("hooked")).await, 0, "acked");
    assert_eq!(h.t.queue_len(&out).await, 0, "no follow-up");
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}
