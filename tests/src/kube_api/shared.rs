//! The state one fixture's HTTP handlers and its test-facing handle share.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::watch;

use super::faults::Faults;
use super::registry::Registry;
use super::requests::RecordedRequest;
use super::store::Store;

/// Signals to every open watch stream; each field counts how often it was raised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WatchControl {
    pub ended: u64,
    pub bookmarks: u64,
    pub shutdown: bool,
}

pub(crate) struct Shared {
    pub registry: RwLock<Registry>,
    pub store: Mutex<Store>,
    pub faults: Mutex<Faults>,
    pub requests: Mutex<Vec<RecordedRequest>>,
    /// Bumped on every write, every request and every watch opened or closed: what
    /// watch streams and `wait_for` await.
    pub activity: Arc<watch::Sender<u64>>,
    pub control: watch::Sender<WatchControl>,
    pub open_watches: AtomicUsize,
    pub require_namespaces: bool,
    /// `127.0.0.1:PORT`, for `/api`'s `serverAddressByClientCIDRs`.
    pub server_address: String,
}

impl Shared {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn registry(&self) -> RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn registry_mut(&self) -> RwLockWriteGuard<'_, Registry> {
        self.registry.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn requests(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        self.requests().push(request);
        self.notify();
    }

    pub(crate) fn notify(&self) {
        self.activity.send_modify(|n| *n += 1);
    }

    pub(crate) fn signal_watches(&self, raise: impl FnOnce(&mut WatchControl)) {
        self.control.send_modify(raise);
    }
}

/// Counts an open watch stream for as long as it lives.
pub(crate) struct OpenWatch(Arc<Shared>);

impl OpenWatch {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        shared.open_watches.fetch_add(1, Ordering::SeqCst);
        shared.notify();
        Self(shared)
    }
}

impl Drop for OpenWatch {
    fn drop(&mut self) {
        self.0.open_watches.fetch_sub(1, Ordering::SeqCst);
        self.0.notify();
    }
}
