//! The watermark: every event at or below this resourceVersion has been handled
//! (published and confirmed, or deliberately skipped). It is persisted in a ConfigMap so
//! a restart, or the next leader, resumes where publishing stopped.
//!
//! Guarantee: at-least-once. The watermark is written after the publishes it covers are
//! confirmed, at most every `--checkpoint-interval` and once more on shutdown; a crash
//! between a confirm and the next write republishes at most that interval's events, with
//! the same message ids (derived from event uid and count), so consumers that dedupe on
//! `message_id` (dbwriter) see each once.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{status_code, Error, KubeContext, Result};
use crate::source::Item;

/// The ConfigMap key holding the watermark.
pub const WATERMARK_KEY: &str = "resourceVersion";

/// Tracks what is safe to persist while items arrive: during a list, objects come in no
/// order, so only the list's end moves the watermark; after it, each item does.
#[derive(Debug, Default)]
pub struct Progress {
    listing: bool,
    list_max: Option<u64>,
    handled: Option<u64>,
}

impl Progress {
    pub fn new(watermark: Option<u64>) -> Self {
        Progress { handled: watermark, ..Progress::default() }
    }

    pub fn relisting(&mut self) {
        self.listing = true;
        self.list_max = None;
    }

    pub fn listed(&mut self) {
        self.listing = false;
        if let Some(max) = self.list_max.take() {
            self.advance(max);
        }
    }

    /// A watch item is done with (published, skipped, or nothing to do).
    pub fn apply(&mut self, item: &Item) {
        match item {
            Item::Relisting => self.relisting(),
            Item::Listed => self.listed(),
            Item::Deleted(rv) => self.handled(*rv),
            Item::Event(event) => self.handled(event.resource_version),
        }
    }

    /// An item with this resourceVersion is done with.
    pub fn handled(&mut self, rv: Option<u64>) {
        let Some(rv) = rv else { return };
        if self.listing {
            self.list_max = Some(self.list_max.map_or(rv, |m| m.max(rv)));
        } else {
            self.advance(rv);
        }
    }

    /// Everything at or below this is handled.
    pub fn watermark(&self) -> Option<u64> {
        self.handled
    }

    fn advance(&mut self, rv: u64) {
        self.handled = Some(self.handled.map_or(rv, |h| h.max(rv)));
    }
}

/// Reads and writes the watermark ConfigMap (optimistic concurrency, never lowered).
#[derive(Clone)]
pub struct Watermarks {
    api: Api<ConfigMap>,
    name: String,
}

impl Watermarks {
    pub fn new(client: Client, namespace: &str, name: &str) -> Self {
        Watermarks { api: Api::namespaced(client, namespace), name: name.to_owned() }
    }

    pub async fn load(&self) -> Result<Option<u64>> {
        let found =
            self.api.get_opt(&self.name).await.doing(|| format!("reading ConfigMap {}", self.name))?;
        watermark_of(found.as_ref(), &self.name)
    }

    /// Stores `rv` unless a higher watermark is stored already.
    pub async fn save(&self, rv: u64) -> Result<()> {
        // A 409 means another writer got in between; read again and retry a few times.
        for _ in 0..3 {
            let doing = || format!("writing ConfigMap {}", self.name);
            let found = self.api.get_opt(&self.name).await.doing(doing)?;
            let stored = watermark_of(found.as_ref(), &self.name).unwrap_or(None);
            if stored.is_some_and(|s| s >= rv) {
                return Ok(());
            }
            let written = match found {
                None => self.api.create(&PostParams::default(), &self.config_map(None, rv)).await,
                Some(cm) => {
                    let next = self.config_map(cm.metadata.resource_version.clone(), rv);
                    self.api.replace(&self.name, &PostParams::default(), &next).await
                }
            };
            match written {
                Ok(_) => return Ok(()),
                Err(e) if status_code(&e) == Some(409) => continue,
                Err(source) => return Err(Error::Kube { doing: doing(), source }),
            }
        }
        Ok(())
    }

    fn config_map(&self, resource_version: Option<String>, rv: u64) -> ConfigMap {
        let data = BTreeMap::from([
            (WATERMARK_KEY.to_owned(), rv.to_string()),
            ("updatedAt".to_owned(), chrono::Utc::now().to_rfc3339()),
        ]);
        let labels = BTreeMap::from([("app.kubernetes.io/name".to_owned(), "k8s-event-exporter".to_owned())]);
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                resource_version,
                labels: Some(labels),
                ..ObjectMeta::default()
            },
            data: Some(data),
            ..ConfigMap::default()
        }
    }
}

fn watermark_of(cm: Option<&ConfigMap>, name: &str) -> Result<Option<u64>> {
    let Some(value) = cm.and_then(|cm| cm.data.as_ref()?.get(WATERMARK_KEY)) else { return Ok(None) };
    value
        .trim()
        .parse()
        .map(Some)
        .map_err(|_| Error::BadWatermark { name: name.to_owned(), value: value.clone() })
}

/// Writes the latest watermark at most every `interval`, and once more when the sender
/// (the publisher task) is dropped.
pub async fn flush(watermarks: Watermarks, mut rx: watch::Receiver<Option<u64>>, interval: Duration) {
    let mut saved = *rx.borrow_and_update();
    let mut last_write = Instant::now() - interval;
    loop {
        let mut closed = rx.changed().await.is_err();
        let deadline = last_write + interval;
        while !closed {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                changed = rx.changed() => closed = changed.is_err(),
            }
        }
        let latest = *rx.borrow_and_update();
        if let Some(rv) = latest.filter(|rv| saved.is_none_or(|s| *rv > s)) {
            match watermarks.save(rv).await {
                Ok(()) => saved = Some(rv),
                Err(error) => tracing::warn!(%error, "could not persist the watermark; trying again later"),
            }
            last_write = Instant::now();
        }
        if closed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_moves_the_watermark_only_when_complete() {
        let mut p = Progress::new(Some(5));
        p.relisting();
        p.handled(Some(40));
        p.handled(Some(12));
        assert_eq!(p.watermark(), Some(5), "a list in progress may still hold lower versions");
        p.listed();
        assert_eq!(p.watermark(), Some(40));
        p.handled(Some(41));
        p.handled(None);
        assert_eq!(p.watermark(), Some(41));
    }

    #[test]
    fn a_relist_that_ends_early_moves_nothing() {
        let mut p = Progress::new(None);
        p.relisting();
        p.handled(Some(9));
        assert_eq!(p.watermark(), None);
    }

    #[test]
    fn a_watermark_that_is_not_a_number_is_an_error_naming_the_configmap() {
        let cm = ConfigMap {
            data: Some(BTreeMap::from([(WATERMARK_KEY.to_owned(), "abc".to_owned())])),
            ..ConfigMap::default()
        };
        let e = watermark_of(Some(&cm), "x-state").unwrap_err();
        assert!(e.to_string().contains("x-state"), "{e}");
        assert_eq!(watermark_of(None, "x").unwrap(), None);
    }
}
