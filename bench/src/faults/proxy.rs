//! A TCP proxy between a service and the broker that can stop forwarding without closing the
//! sockets — a silent network drop that only heartbeats can notice.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy; forwarding can be switched off and on.
pub struct Proxy {
    pub addr: SocketAddr,
    forwarding: Arc<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let forwarding = Arc::new(watch::channel(true).0);
        let fw = forwarding.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else { continue };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, fw.subscribe()));
                tokio::spawn(pump(sr, cw, fw.subscribe()));
            }
        });
        Ok(Proxy { addr, forwarding, task })
    }

    /// Stops (false) or resumes (true) forwarding; bytes in flight wait, sockets stay open.
    pub fn set_forwarding(&self, on: bool) {
        self.forwarding.send_replace(on);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut forwarding: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // A dropped network: hold the bytes until forwarding resumes (or the peer gives up).
        if forwarding.wait_for(|on| *on).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
