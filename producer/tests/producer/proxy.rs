//! A TCP proxy to the broker that a test can cut and restore: an outage of this test's
//! connections only, without touching the shared RabbitMQ.

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub port: u16,
    up: Arc<watch::Sender<bool>>,
}

impl Proxy {
    /// Listens on 127.0.0.1:0 and forwards to the local broker while up.
    pub async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(watch::channel(true).0);
        let state = up.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !*state.borrow() {
                    drop(inbound); // down: refuse by closing at once
                    continue;
                }
                let mut down = state.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect("127.0.0.1:5672").await else { return };
                    let mut inbound = inbound;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !*up) => {} // cut: both sockets drop here
                    }
                });
            }
        });
        Proxy { port, up }
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Closes every forwarded connection and refuses new ones.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}
