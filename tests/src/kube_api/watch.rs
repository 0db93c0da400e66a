//! Watch streams: newline-delimited `{"type","object"}` events replayed from the store's
//! history after a resourceVersion, then live; `ERROR` 410 `Expired` when the history no
//! longer reaches back; `BOOKMARK`s when asked for.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use futures_util::Stream;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use super::registry::ResourceKind;
use super::selectors::Selector;
use super::shared::{OpenWatch, Shared, WatchControl};
use super::status::ApiError;
use super::store::{Change, ChangeType};

/// What a watch request asked for.
#[derive(Debug, Clone)]
pub(crate) struct WatchRequest {
    pub kind: ResourceKind,
    /// `None`: all namespaces (or a cluster-scoped kind).
    pub namespace: Option<String>,
    pub selector: Selector,
    /// `None` (no `resourceVersion`, or `0`): start with an `ADDED` per existing object.
    pub since: Option<u64>,
    pub bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout: Option<Duration>,
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    object: &'a Value,
}

/// The body of a watch response.
pub(crate) fn stream(
    shared: Arc<Shared>,
    request: WatchRequest,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let state = WatchStream::open(shared, request);
    futures_util::stream::unfold(state, |mut state| async move {
        state.next().await.map(|line| (Ok(line), state))
    })
}

struct WatchStream {
    shared: Arc<Shared>,
    request: WatchRequest,
    /// Every change up to here has been sent (or filtered out).
    cursor: u64,
    pending: VecDeque<Bytes>,
    finished: bool,
    activity: watch::Receiver<u64>,
    control: watch::Receiver<WatchControl>,
    seen: WatchControl,
    deadline: Option<Instant>,
    _open: OpenWatch,
}

impl WatchStream {
    fn open(shared: Arc<Shared>, request: WatchRequest) -> Self {
        // Subscribe before reading the store, so no write between the two goes unnoticed.
        let activity = shared.activity.subscribe();
        let control = shared.control.subscribe();
        let seen = *control.borrow();
        let mut pending = VecDeque::new();
        let cursor = {
            let store = shared.store();
            match request.since {
                Some(since) => since,
                None => {
                    for object in store.list(&request.kind, request.namespace.as_deref()) {
                        if request.selector.matches(&object) {
                            pending.push_back(line("ADDED", &object));
                        }
                    }
                    let now = store.resource_version();
                    if request.send_initial_events && request.bookmarks {
                        pending.push_back(bookmark(&request.kind, now, true));
                    }
                    now
                }
            }
        };
        let deadline = request.timeout.map(|t| Instant::now() + t);
        let open = OpenWatch::new(shared.clone());
        Self {
            shared,
            request,
            cursor,
            pending,
            finished: false,
            activity,
            control,
            seen,
            deadline,
            _open: open,
        }
    }

    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                return Some(line);
            }
            if self.finished {
                return None;
            }
            self.activity.borrow_and_update();
            let control = *self.control.borrow_and_update();
            if control.shutdown || control.ended != self.seen.ended {
                return None;
            }
            self.catch_up();
            if control.bookmarks != self.seen.bookmarks {
                self.seen.bookmarks = control.bookmarks;
                if self.request.bookmarks && !self.finished {
                    self.pending.push_back(bookmark(&self.request.kind, self.cursor, false));
                }
            }
            if !self.pending.is_empty() || self.finished {
                continue;
            }
            let deadline = self.deadline;
            tokio::select! {
                _ = self.activity.changed() => {}
                _ = self.control.changed() => {}
                _ = sleep_until(deadline) => self.finished = true,
            }
        }
    }

    /// Queues the events for every change after the cursor, or a 410 when those changes
    /// are no longer in the history.
    fn catch_up(&mut self) {
        let store = self.shared.store();
        match store.changes_since(self.cursor) {
            Err(expired) => {
                let message = format!("too old resource version: {} ({})", expired.requested, expired.oldest);
                let status = ApiError::new(410, message).with_reason("Expired").to_status();
                self.pending.push_back(line("ERROR", &status));
                self.finished = true;
            }
            Ok(changes) => {
                for change in changes {
                    if let Some(event_type) = self.event_type(&change) {
                        self.pending.push_back(line(event_type, &change.object));
                    }
                }
                self.cursor = store.resource_version();
            }
        }
    }

    /// How this watch sees a change: an object entering the selection is `ADDED`, one
    /// leaving it is `DELETED`, as on a real API server.
    fn event_type(&self, change: &Change) -> Option<&'static str> {
        let request = &self.request;
        let same_kind = change.key.kind.group == request.kind.group
            && change.key.kind.version == request.kind.version
            && change.key.kind.plural == request.kind.plural;
        let in_namespace = request.namespace.is_none() || change.key.namespace == request.namespace;
        if !same_kind || !in_namespace {
            return None;
        }
        let now = request.selector.matches(&change.object);
        let before = change.previous.as_ref().is_some_and(|p| request.selector.matches(p));
        match (change.change, before, now) {
            (ChangeType::Added, _, true) => Some("ADDED"),
            (ChangeType::Modified, true, true) => Some("MODIFIED"),
            (ChangeType::Modified, false, true) => Some("ADDED"),
            (ChangeType::Modified, true, false) | (ChangeType::Deleted, true, _) => Some("DELETED"),
            _ => None,
        }
    }
}

fn line(event_type: &str, object: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(&Line { event_type, object }).expect("a JSON value serializes");
    bytes.push(b'\n');
    Bytes::from(bytes)
}

fn bookmark(kind: &ResourceKind, resource_version: u64, initial_events_end: bool) -> Bytes {
    let mut object = json!({
        "kind": kind.kind,
        "apiVersion": kind.api_version(),
        "metadata": {"resourceVersion": resource_version.to_string()},
    });
    if initial_events_end {
        object["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line("BOOKMARK", &object)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
