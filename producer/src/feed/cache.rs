//! The status cache: the timeline of the most recently active traces (LRU by trace, bounded
//! in traces and in events per trace, so memory stays flat under a flood), and a broadcast
//! of every new entry for the live streams.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::entry::TimelineEntry;

/// Entries a slow live stream may fall behind by before it skips some.
const LIVE_BUFFER: usize = 4096;

/// Shared handle on the cache; cheap to clone.
#[derive(Clone)]
pub struct TraceCache {
    inner: Arc<Inner>,
}

struct Inner {
    traces: Mutex<LruCache<Uuid, VecDeque<Arc<TimelineEntry>>>>,
    events_per_trace: usize,
    live: broadcast::Sender<Arc<TimelineEntry>>,
}

impl std::fmt::Debug for TraceCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceCache").field("traces", &self.len()).finish_non_exhaustive()
    }
}

impl TraceCache {
    /// Keeps at most `traces` traces of at most `events_per_trace` entries each.
    pub fn new(traces: usize, events_per_trace: usize) -> Self {
        let capacity = NonZeroUsize::new(traces.max(1)).expect("at least one");
        TraceCache {
            inner: Arc::new(Inner {
                traces: Mutex::new(LruCache::new(capacity)),
                events_per_trace: events_per_trace.max(1),
                live: broadcast::channel(LIVE_BUFFER).0,
            }),
        }
    }

    /// Adds an entry unless its message id is already in the timeline (the producer records its
    /// own publishes at once, and the feed brings them again); returns whether it was new.
    pub fn record(&self, entry: TimelineEntry) -> bool {
        let entry = Arc::new(entry);
        {
            let mut traces = self.inner.traces.lock().expect("trace cache poisoned");
            let timeline = traces.get_or_insert_mut(entry.trace_id, VecDeque::new);
            if timeline.iter().any(|e| e.message_id == entry.message_id) {
                return false;
            }
            if timeline.len() >= self.inner.events_per_trace {
                timeline.pop_front();
            }
            timeline.push_back(entry.clone());
        }
        // No live stream listening is normal, not an error.
        let _ = self.inner.live.send(entry);
        true
    }

    /// Whether the timeline of `trace_id` holds `message_id` (without touching the LRU order).
    pub fn contains(&self, trace_id: Uuid, message_id: &str) -> bool {
        let traces = self.inner.traces.lock().expect("trace cache poisoned");
        traces.peek(&trace_id).is_some_and(|t| t.iter().any(|e| e.message_id == message_id))
    }

    /// The timeline of a trace, oldest first (empty if unknown or evicted).
    pub fn timeline(&self, trace_id: Uuid) -> Vec<Arc<TimelineEntry>> {
        let mut traces = self.inner.traces.lock().expect("trace cache poisoned");
        traces.get(&trace_id).map(|t| t.iter().cloned().collect()).unwrap_or_default()
    }

    /// Every entry recorded from now on (subscribe before reading the timeline, then dedupe).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<TimelineEntry>> {
        self.inner.live.subscribe()
    }

    /// Traces held now.
    pub fn len(&self) -> usize {
        self.inner.traces.lock().expect("trace cache poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(trace_id: Uuid, message_id: &str) -> TimelineEntry {
        TimelineEntry {
            trace_id,
            event_type: "mycompany.provisioner.event.c1.provisioning".into(),
            action: "provisioning".into(),
            app: "provisioner".into(),
            time: "2026-01-01T00:00:00Z".into(),
            message_id: message_id.into(),
            retrace_intent: 0,
            fields: Default::default(),
        }
    }

    #[test]
    fn a_flood_of_traces_keeps_only_the_most_recent_ones() {
        let cache = TraceCache::new(100, 10);
        let first = Uuid::new_v4();
        cache.record(entry(first, "m0"));
        for i in 0..10_000 {
            cache.record(entry(Uuid::new_v4(), &format!("m{i}")));
        }
        assert_eq!(cache.len(), 100);
        assert!(cache.timeline(first).is_empty(), "the oldest trace was evicted");
    }

    #[test]
    fn a_trace_keeps_its_latest_events_in_order_without_duplicates() {
        let cache = TraceCache::new(10, 3);
        let t = Uuid::new_v4();
        for m in ["a", "b", "b", "c", "d"] {
            cache.record(entry(t, m));
        }
        let ids: Vec<String> = cache.timeline(t).iter().map(|e| e.message_id.clone()).collect();
        assert_eq!(ids, ["b", "c", "d"]);
    }

    #[test]
    fn live_subscribers_get_new_entries_but_not_duplicates() {
        let cache = TraceCache::new(10, 10);
        let mut live = cache.subscribe();
        let t = Uuid::new_v4();
        assert!(cache.record(entry(t, "a")));
        assert!(!cache.record(entry(t, "a")));
        assert!(cache.contains(t, "a") && !cache.contains(t, "b"));
        assert!(cache.record(entry(t, "b")));
        assert_eq!(live.try_recv().unwrap().message_id, "a");
        assert_eq!(live.try_recv().unwrap().message_id, "b");
        assert!(live.try_recv().is_err());
    }
}
