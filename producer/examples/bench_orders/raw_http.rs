//! The load client of the producer's benchmarks: raw HTTP/1.1 keep-alive connections (a
//! prepared request out, one response, head + `Content-Length` body, in, nothing else, so it
//! costs little CPU), like wrk, each sending its request back to back for a measured window.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a load run measured, over the answers with the expected status.
pub struct Figures {
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Answers with another status, in the measured window.
    pub failures: u64,
}

/// One client per request, one keep-alive connection each, sending it back to back; only the
/// `window` after `warmup` is measured, and only answers with status `expect` count.
pub async fn load(
    port: u16,
    requests: Vec<String>,
    expect: u16,
    warmup: Duration,
    window: Duration,
) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let clients = requests.into_iter().map(|request| {
        let (stop, measuring) = (stop.clone(), measuring.clone());
        async move {
            let mut conn = RawConnection::open(port).await;
            let (mut latencies, mut failures) = (Vec::new(), 0u64);
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let ok = conn.exchange(request.as_bytes()).await == expect;
                if measuring.load(Ordering::Relaxed) {
                    if ok {
                        latencies.push(started.elapsed());
                    } else {
                        failures += 1;
                    }
                }
            }
            (latencies, failures)
        }
    });
    let timer = async {
        tokio::time::sleep(warmup).await;
        measuring.store(true, Ordering::Relaxed);
        tokio::time::sleep(window).await;
        measuring.store(false, Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
    };
    let (results, ()) = tokio::join!(join_all(clients), timer);
    let mut all: Vec<Duration> = results.iter().flat_map(|(l, _)| l.iter().copied()).collect();
    all.sort_unstable();
    let ms = |d: Option<&Duration>| d.copied().unwrap_or_default().as_secs_f64() * 1e3;
    let at = |q: f64| ms(all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))));
    Figures {
        rate: all.len() as f64 / window.as_secs_f64(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: ms(all.last()),
        failures: results.iter().map(|(_, f)| f).sum(),
    }
}

/// One keep-alive connection: writes a request, reads one response (head + Content-Length body).
pub struct RawConnection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl RawConnection {
    pub async fn open(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect to the producer");
        stream.set_nodelay(true).expect("nodelay");
        RawConnection { stream, buffer: Vec::with_capacity(4096) }
    }

    /// Sends `request` and returns the response status.
    pub async fn exchange(&mut self, request: &[u8]) -> u16 {
        self.stream.write_all(request).await.expect("write request");
        loop {
            if let Some(head_end) = find(&self.buffer, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buffer[..head_end]).expect("ASCII head");
                let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).expect("status line");
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                    })
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let total = head_end + 4 + length;
                if self.buffer.len() >= total {
                    self.buffer.drain(..total);
                    return status;
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.expect("read response");
            assert!(n > 0, "the producer closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
