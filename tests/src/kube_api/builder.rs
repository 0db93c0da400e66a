//! Starting a fixture: which kinds and groups it serves, how much watch history it keeps.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{oneshot, watch as channel};

use super::faults::Faults;
use super::handlers;
use super::registry::{Registry, ResourceKind};
use super::shared::Shared;
use super::store::Store;
use super::{KubeApiTestServer, DEFAULT_HISTORY_LIMIT, DEFAULT_WAIT};

/// Configures a [`KubeApiTestServer`] before it starts.
#[derive(Debug)]
pub struct KubeApiTestServerBuilder {
    registry: Registry,
    history_limit: usize,
    require_namespaces: bool,
    wait_timeout: Duration,
}

impl KubeApiTestServerBuilder {
    /// Serves one more kind (or replaces the one with the same group, version and plural).
    pub fn with_kind(mut self, kind: ResourceKind) -> Self {
        self.registry.add(kind);
        self
    }

    /// Does not serve an API group, e.g. `events.k8s.io`, as an older cluster would not.
    pub fn without_group(mut self, group: &str) -> Self {
        self.registry.set_group_served(group, false);
        self
    }

    /// Keeps only the last `changes` changes for watches to resume from.
    pub fn history_limit(mut self, changes: usize) -> Self {
        self.history_limit = changes;
        self
    }

    /// Rejects (404) creating a namespaced object in a Namespace that does not exist, as a
    /// real API server does. Objects put with [`KubeApiTestServer::put_object`] are exempt.
    pub fn require_existing_namespaces(mut self) -> Self {
        self.require_namespaces = true;
        self
    }

    /// How long `wait_for_object` and `wait_for_request` wait (default [`DEFAULT_WAIT`]).
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// Binds `127.0.0.1:0` and starts serving.
    pub async fn start(self) -> KubeApiTestServer {
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the Kubernetes API test fixture");
        let addr = listener.local_addr().expect("the fixture's listener has an address");
        let activity = Arc::new(channel::channel(0).0);
        let shared = Arc::new(Shared {
            registry: RwLock::new(self.registry),
            store: Mutex::new(Store::new(self.history_limit, activity.clone())),
            faults: Mutex::new(Faults::default()),
            requests: Mutex::new(Vec::new()),
            activity,
            control: channel::channel(Default::default()).0,
            open_watches: AtomicUsize::new(0),
            require_namespaces: self.require_namespaces,
            server_address: addr.to_string(),
        });
        let app = axum::Router::new().fallback(handlers::handle).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                stopped.await.ok();
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "the Kubernetes API test fixture stopped serving");
            }
        });
        KubeApiTestServer { shared, addr, wait_timeout: self.wait_timeout, stop: Some(stop) }
    }
}

impl Default for KubeApiTestServerBuilder {
    fn default() -> Self {
        Self {
            registry: Registry::default(),
            history_limit: DEFAULT_HISTORY_LIMIT,
            require_namespaces: false,
            wait_timeout: DEFAULT_WAIT,
        }
    }
}
