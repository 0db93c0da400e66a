//! A minimal server-sent-events reader over a reqwest response (no extra dependency).

use std::time::Duration;

use serde_json::Value;

pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

/// One SSE message: its `id` and its `data` as JSON.
#[derive(Debug)]
pub struct SseEvent {
    pub id: String,
    pub data: Value,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        SseReader { response, buffer: String::new() }
    }

    /// The next message with data (comments and keep-alives skipped), or a panic after `within`.
    pub async fn next(&mut self, within: Duration) -> SseEvent {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut data) = (String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim_start().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if !data.is_empty() {
                    return SseEvent { id, data: serde_json::from_str(&data).expect("SSE data is JSON") };
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no SSE message within {within:?}"))
                .expect("SSE stream readable")
                .expect("SSE stream not ended");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }
}
