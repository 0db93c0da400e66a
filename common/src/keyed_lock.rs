//! Serializes work per key (a release, a client) while different keys run concurrently.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A lock per key; entries are removed when nobody holds or waits for them, so memory stays
/// bounded by the work in flight, not by the number of keys ever seen.
#[derive(Debug, Default, Clone)]
pub struct KeyedLock {
    locks: Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>,
}

/// Held while the work for one key runs; dropping it lets the next waiter for that key go.
#[derive(Debug)]
pub struct KeyGuard {
    key: String,
    guard: Option<OwnedMutexGuard<()>>,
    locks: Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>,
}

impl KeyedLock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits until no other holder of `key` remains, then holds it.
    pub async fn lock(&self, key: &str) -> KeyGuard {
        let mutex = {
            let mut map = self.locks.lock().expect("keyed lock map poisoned");
            map.entry(key.to_owned()).or_default().clone()
        };
        let guard = mutex.lock_owned().await;
        KeyGuard { key: key.to_owned(), guard: Some(guard), locks: self.locks.clone() }
    }

    /// Keys currently held or awaited.
    pub fn len(&self) -> usize {
        self.locks.lock().expect("keyed lock map poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.locks.lock().expect("keyed lock map poisoned");
        // Two references: the map's and the one every guard's mutex shares; nobody else waits.
        if map.get(&self.key).is_some_and(|m| Arc::strong_count(m) == 1) {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_key_waits_and_other_keys_do_not() {
        let locks = KeyedLock::new();
        let a = locks.lock("tenant-a").await;
        // Another key is free at once.
        let b = locks.lock("tenant-b").await;
        drop(b);
        let locks2 = locks.clone();
        let waiter = tokio::spawn(async move { locks2.lock("tenant-a").await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "second holder of tenant-a must wait");
        drop(a);
        let again = waiter.await.unwrap();
        drop(again);
        assert!(locks.is_empty(), "released keys are forgotten");
    }
}
