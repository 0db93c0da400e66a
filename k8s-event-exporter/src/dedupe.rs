//! Publish each (event uid, count) once, in memory that stays flat at any event rate.
//!
//! Two checks, both bounded: the resourceVersion floor (everything at or below it was
//! already handled, by this process or, through the persisted watermark, an earlier one),
//! and a map of uid → last published count holding at most `capacity` entries.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};

use crate::kube_event::KubeEvent;

/// Why an event is not published. Also the `reason` label of the skipped counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Skip {
    /// Already published with this count (a resync, a relist after 410, a restart).
    Duplicate,
    /// It last happened before the exporter started (no `--replay`, no watermark).
    Old,
    /// Not selected by `--types`, `--reasons`, `--exclude-reasons`.
    Filtered,
    /// Its namespace carries no trace id (and `--include-untraced` is off).
    Untraced,
    /// Its namespace is not selected by `--namespace-selector`.
    Unselected,
}

impl Skip {
    pub fn label(self) -> &'static str {
        match self {
            Skip::Duplicate => "duplicate",
            Skip::Old => "old",
            Skip::Filtered => "filtered",
            Skip::Untraced => "untraced",
            Skip::Unselected => "unselected",
        }
    }
}

/// uid → last published count, in two generations: when the young one is full it becomes
/// the old one and the previous old one is dropped. At most `capacity` entries; the uids
/// forgotten are the least recently published, whose events are long finished.
#[derive(Debug)]
pub struct SeenEvents {
    young: HashMap<String, i64>,
    old: HashMap<String, i64>,
    generation: usize,
}

impl SeenEvents {
    pub fn new(capacity: usize) -> Self {
        let generation = (capacity / 2).max(1);
        SeenEvents { young: HashMap::with_capacity(generation), old: HashMap::new(), generation }
    }

    pub fn count(&self, uid: &str) -> Option<i64> {
        self.young.get(uid).or_else(|| self.old.get(uid)).copied()
    }

    pub fn record(&mut self, uid: &str, count: i64) {
        self.young.insert(uid.to_owned(), count);
        if self.young.len() >= self.generation {
            self.old = std::mem::replace(&mut self.young, HashMap::with_capacity(self.generation));
        }
    }

    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The checks that need no namespace: duplicate and old.
#[derive(Debug)]
pub struct Gate {
    seen: SeenEvents,
    /// Events at or below this resourceVersion were handled already.
    floor: Option<u64>,
    /// Events that last happened before this are old; `None` with `--replay` or a watermark.
    /// Whole seconds: see [`Gate::new`].
    cutoff: Option<DateTime<Utc>>,
}

impl Gate {
    /// The cutoff is rounded down to the second: core/v1 timestamps (`firstTimestamp`,
    /// `lastTimestamp`, served by events.k8s.io as `deprecated*Timestamp`; what
    /// kube-controller-manager's controllers write) carry whole seconds, so an event that
    /// happened just after the start, in the same second, would read as older than a
    /// sub-second cutoff and be skipped.
    pub fn new(capacity: usize, floor: Option<u64>, cutoff: Option<DateTime<Utc>>) -> Self {
        let cutoff = cutoff.map(|c| c.trunc_subsecs(0));
        Gate { seen: SeenEvents::new(capacity), floor, cutoff }
    }

    /// Raises the floor: everything at or below `rv` has been handled.
    pub fn raise_floor(&mut self, rv: u64) {
        self.floor = Some(self.floor.map_or(rv, |f| f.max(rv)));
    }

    pub fn check(&self, event: &KubeEvent) -> Result<(), Skip> {
        if let (Some(rv), Some(floor)) = (event.resource_version, self.floor) {
            if rv <= floor {
                return Err(Skip::Duplicate);
            }
        }
        if self.seen.count(&event.uid).is_some_and(|published| published >= event.count) {
            return Err(Skip::Duplicate);
        }
        match (self.cutoff, event.last_seen()) {
            (Some(cutoff), Some(last)) if last < cutoff => Err(Skip::Old),
            _ => Ok(()),
        }
    }

    /// Remembers that (uid, count) is published.
    pub fn published(&mut self, event: &KubeEvent) {
        self.seen.record(&event.uid, event.count);
    }

    pub fn remembered(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(uid: &str, count: i64, rv: u64) -> KubeEvent {
        KubeEvent { uid: uid.into(), count, resource_version: Some(rv), ..KubeEvent::default() }
    }

    #[test]
    fn a_higher_count_is_news_and_the_same_count_is_not() {
        let mut gate = Gate::new(100, None, None);
        assert_eq!(gate.check(&ev("a", 1, 10)), Ok(()));
        gate.published(&ev("a", 1, 10));
        assert_eq!(gate.check(&ev("a", 1, 11)), Err(Skip::Duplicate));
        assert_eq!(gate.check(&ev("a", 2, 12)), Ok(()));
    }

    #[test]
    fn events_at_or_below_the_floor_are_duplicates() {
        let mut gate = Gate::new(100, Some(20), None);
        assert_eq!(gate.check(&ev("a", 5, 20)), Err(Skip::Duplicate));
        assert_eq!(gate.check(&ev("a", 5, 21)), Ok(()));
        gate.raise_floor(30);
        gate.raise_floor(25);
        assert_eq!(gate.check(&ev("b", 1, 30)), Err(Skip::Duplicate));
    }

    #[test]
    fn events_older_than_the_cutoff_are_old() {
        let now = Utc::now();
        let gate = Gate::new(100, None, Some(now));
        let mut e = ev("a", 1, 1);
        e.last_time = Some(now - chrono::Duration::seconds(5));
        assert_eq!(gate.check(&e), Err(Skip::Old));
        e.last_time = Some(now + chrono::Duration::seconds(1));
        assert_eq!(gate.check(&e), Ok(()));
    }

    #[test]
    fn an_event_of_the_start_second_written_with_whole_seconds_is_not_old() {
        let start = "2024-05-01T10:00:00.900Z".parse::<DateTime<Utc>>().unwrap();
        let gate = Gate::new(100, None, Some(start));
        let mut e = ev("a", 1, 1);
        // Happened at 10:00:00.950, stored by a core/v1 writer as 10:00:00.
        e.last_time = Some("2024-05-01T10:00:00Z".parse().unwrap());
        assert_eq!(gate.check(&e), Ok(()));
        e.last_time = Some("2024-05-01T09:59:59Z".parse().unwrap());
        assert_eq!(gate.check(&e), Err(Skip::Old));
    }

    #[test]
    fn memory_stays_bounded_whatever_the_number_of_uids() {
        let mut seen = SeenEvents::new(1_000);
        for i in 0..100_000 {
            seen.record(&format!("uid-{i}"), 1);
            assert!(seen.len() <= 1_000);
        }
        assert_eq!(seen.count("uid-99999"), Some(1), "the most recent are remembered");
        assert_eq!(seen.count("uid-0"), None, "the oldest are forgotten");
    }
}
