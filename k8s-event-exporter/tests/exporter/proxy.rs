//! A TCP proxy on loopback between one exporter and the real API server (TLS passes through
//! untouched; the server's certificate names 127.0.0.1, whatever the port). The test can cut
//! every connection and refuse new ones for a while, as when the API server restarts or the
//! network drops: the exporter's watches end and it resumes them from the last
//! resourceVersion it saw, once the API server is reachable again. What the API server then
//! answers is the real one's.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct ApiProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    /// One lock for both, so no connection accepted before a cut outlives it.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// While set, every connection is closed as soon as it is accepted.
    refusing: bool,
    open: Vec<AbortHandle>,
}

impl ApiProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> ApiProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accept = tokio::spawn({
            let shared = shared.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    let mut state = shared.state.lock().unwrap();
                    if state.refusing {
                        drop(client);
                        continue;
                    }
                    let upstream = upstream.clone();
                    let forward = tokio::spawn(async move {
                        let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
                        tokio::io::copy_bidirectional(&mut client, &mut server).await.ok();
                    });
                    state.open.retain(|h| !h.is_finished());
                    state.open.push(forward.abort_handle());
                }
            }
        });
        ApiProxy { addr, shared, accept }
    }

    /// `https://127.0.0.1:<port>`, for the exporter's client.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Closes every open connection and refuses new ones until [`ApiProxy::restore`].
    pub fn cut(&self) {
        let mut state = self.shared.state.lock().unwrap();
        state.refusing = true;
        for forward in state.open.drain(..) {
            forward.abort();
        }
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.shared.state.lock().unwrap().refusing = false;
    }
}

impl Drop for ApiProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
