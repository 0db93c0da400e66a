//! TEST FIXTURE — not a Kubernetes API server.
//!
//! [`KubeApiTestServer`] serves enough of the Kubernetes REST API over HTTP, from memory,
//! for kube-rs clients under test: the provisioner (server-side apply of Namespace,
//! ResourceQuota, LimitRange, NetworkPolicy and Flux HelmRelease; get, delete, list,
//! watch) and the k8s-event-exporter (list and watch of Events and Namespaces, Leases and
//! ConfigMaps with optimistic concurrency).
//!
//! What it does, in the terms of a real API server:
//! - Objects are JSON values stored by kind, namespace and name; the kinds are a table
//!   ([`DEFAULT_KINDS`], more with [`KubeApiTestServerBuilder::with_kind`]).
//! - One global resourceVersion; every change bumps it, a change that changes nothing
//!   (a repeated apply) does not. `uid`, `creationTimestamp` and `generation` (bumped when
//!   anything but metadata and status changes) are set by the server.
//! - Create (409 `AlreadyExists`), get (404 `NotFound`), replace and patch with a stale
//!   `metadata.resourceVersion` (409 `Conflict`), delete (deleting a Namespace deletes
//!   what is in it; finalizers are ignored), delete-collection.
//! - Patch: server-side apply (`application/apply-patch+yaml`, JSON or YAML body, needs
//!   `fieldManager`): creates if absent, merges the applied fields (lists replace), drops
//!   fields this manager applied before and no longer applies, records the manager in
//!   `metadata.managedFields`. Conflicts between managers are not detected, so `force` is
//!   accepted and changes nothing. Merge and strategic-merge patches are RFC 7386 merge
//!   patches. JSON patch answers 415.
//! - The `status` subresource, for kinds that have one: writes to the main resource keep
//!   the stored status; writes to `/status` change only the status.
//! - List with `labelSelector` (`=`, `==`, `!=`, `in`, `notin`, exists, `!`) and
//!   `fieldSelector` (`=`, `!=` on any dotted path); `limit` is ignored (one page).
//! - Watch: from `resourceVersion` N, every change after N, replayed from a bounded
//!   history (default 10 000 changes), then live; an object entering or leaving the
//!   selection is `ADDED` or `DELETED`. From an N the history no longer reaches: an
//!   `ERROR` event with a 410 `Expired` Status, then the stream ends, as a real API server
//!   does ([`KubeApiTestServer::expire_watch_history`] forces it). Without a
//!   resourceVersion (or `0`): an `ADDED` per existing object, then live. `BOOKMARK`s only
//!   when the client allows them: after the initial events of a `sendInitialEvents`
//!   watch, and when the test calls [`KubeApiTestServer::send_bookmarks`].
//!   `timeoutSeconds` and [`KubeApiTestServer::end_watches`] end streams cleanly.
//! - Every request is recorded ([`KubeApiTestServer::requests`]); failures can be injected
//!   ([`KubeApiTestServer::fail_next`]); tests await changes instead of sleeping
//!   ([`KubeApiTestServer::wait_for_object`]).
//! - Discovery (`/api`, `/apis`, `/api/v1`, `/apis/{g}/{v}`, plain and aggregated) and
//!   `/version`; groups can be switched off ([`KubeApiTestServer::set_group_served`]).
//! - core/v1 Events and events.k8s.io/v1 Events are separate collections here (a real
//!   server converts between them).
//!
//! Clients: [`KubeApiTestServer::client`], or any client built from
//! [`KubeApiTestServer::config`] or [`KubeApiTestServer::write_kubeconfig`] after
//! [`install_crypto_provider`].
//!
//! kube-rs 5 retries 429, 503 and 504 answers by itself (`Config::default_retry`), so a
//! failure injected with one of those codes is invisible to the caller unless the client
//! was built with `default_retry = false` (see [`KubeApiTestServer::config`]).

mod access;
mod builder;
mod checks;
mod discovery;
mod faults;
mod handlers;
mod objects;
mod patch;
mod registry;
mod requests;
mod routes;
mod selectors;
mod shared;
mod status;
mod store;
mod waiting;
mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

pub use builder::KubeApiTestServerBuilder;
pub use registry::{ResourceKind, DEFAULT_KINDS};
pub use requests::RecordedRequest;

use shared::Shared;

/// How many changes a watch can be replayed from, unless the builder says otherwise.
pub const DEFAULT_HISTORY_LIMIT: usize = 10_000;

/// How long `wait_for_object` and `wait_for_request` wait before failing the test.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// An in-memory Kubernetes API on `127.0.0.1:PORT` for one test. Stops when dropped.
pub struct KubeApiTestServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    wait_timeout: Duration,
    stop: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for KubeApiTestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeApiTestServer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Drop for KubeApiTestServer {
    fn drop(&mut self) {
        self.shared.signal_watches(|c| c.shutdown = true);
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
    }
}

impl KubeApiTestServer {
    /// Starts a fixture serving [`DEFAULT_KINDS`].
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    pub fn builder() -> KubeApiTestServerBuilder {
        KubeApiTestServerBuilder::default()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kube config for this server: no auth, default namespace `default`, kube's
    /// default retry of 429/503/504 on (set `default_retry = false` to see those codes).
    pub fn config(&self) -> kube::Config {
        kube::Config::new(self.url().parse().expect("the fixture's URL is a valid URI"))
    }

    /// A kube client for this server (see [`Self::config`]). Installs a rustls crypto
    /// provider first (see [`install_crypto_provider`]).
    pub fn client(&self) -> kube::Client {
        install_crypto_provider();
        kube::Client::try_from(self.config()).expect("build a kube client for the test fixture")
    }

    /// A kubeconfig naming this server, for services started with `KUBECONFIG`.
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: eda-test-fixture\n  cluster:\n    server: {url}\n\
             contexts:\n- name: eda-test-fixture\n  context:\n    cluster: eda-test-fixture\n    \
             user: eda-test-fixture\n    namespace: default\ncurrent-context: eda-test-fixture\n\
             users:\n- name: eda-test-fixture\n  user: {{}}\npreferences: {{}}\n",
            url = self.url()
        )
    }

    /// Writes [`Self::kubeconfig_yaml`] to `dir/kubeconfig` and returns that path.
    pub fn write_kubeconfig(&self, dir: impl AsRef<Path>) -> PathBuf {
        let path = dir.as_ref().join("kubeconfig");
        std::fs::write(&path, self.kubeconfig_yaml()).expect("write the test fixture's kubeconfig");
        path
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> String {
        self.shared.store().resource_version().to_string()
    }

    /// The next `count` requests whose method is `method` (`"*"` for any) and whose path
    /// and query contain `target_contains` answer `code` with a `Status` body.
    pub fn fail_next(&self, method: &str, target_contains: &str, code: u16, count: usize) {
        self.shared.faults().arm(method, target_contains, code, count);
    }

    /// Makes every resourceVersion handed out so far too old: an open watch gets an
    /// `ERROR` 410 `Expired` event and ends, and a watch from an old resourceVersion gets
    /// the same; a client must relist. Lists answer a new, watchable resourceVersion.
    pub fn expire_watch_history(&self) {
        self.shared.store().expire_history();
    }

    /// Ends every open watch stream cleanly, as an API server's watch timeout does; a
    /// client re-watches from its last resourceVersion, which the history replays.
    pub fn end_watches(&self) {
        self.shared.signal_watches(|c| c.ended += 1);
    }

    /// Sends a `BOOKMARK` at the current resourceVersion on every open watch that allows
    /// bookmarks.
    pub fn send_bookmarks(&self) {
        self.shared.signal_watches(|c| c.bookmarks += 1);
    }

    /// Serves an API group or stops serving it (its routes and discovery entries vanish).
    pub fn set_group_served(&self, group: &str, served: bool) {
        self.shared.registry_mut().set_group_served(group, served);
        self.shared.notify();
    }

    /// How many watch streams are open right now.
    pub fn open_watches(&self) -> usize {
        self.shared.open_watches.load(Ordering::SeqCst)
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests().clone()
    }

    pub fn clear_requests(&self) {
        self.shared.requests().clear();
    }
}

/// Installs ring as the process's rustls crypto provider, unless one is installed.
///
/// In this workspace rustls has two providers enabled (ring through kube, aws-lc-rs
/// through lapin), so rustls cannot pick one and `kube::Client::try_from` panics with
/// "Could not automatically determine the process-level CryptoProvider". A test that
/// builds its own client (from [`KubeApiTestServer::config`] or a kubeconfig) calls this
/// first; a service binary must install a provider itself at start.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread's installation is fine: one is installed.
        rustls::crypto::ring::default_provider().install_default().ok();
    }
}
