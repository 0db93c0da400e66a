//! A raw HTTP/1.1 keep-alive connection for the load client: a prepared request out, one
//! response (head + `Content-Length` body) in, nothing else, so it costs little CPU.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
