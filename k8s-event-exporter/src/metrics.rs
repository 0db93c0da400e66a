//! The exporter's own metrics, registered beside the runtime's under `eda_`. Labels come
//! from fixed sets only: never a namespace, a client or a trace id.

use std::sync::Arc;

use eda_common::metrics::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::dedupe::Skip;

/// Why an event was not published.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SkipLabels {
    /// `duplicate`, `old`, `filtered`, `untraced` or `unselected`.
    pub reason: &'static str,
}

/// Counters of what happened to the events watched.
#[derive(Debug, Clone, Default)]
pub struct ExporterMetrics {
    pub seen: Counter,
    pub published: Counter,
    pub skipped: Family<SkipLabels, Counter>,
    pub publish_retries: Counter,
    pub watch_restarts: Counter,
    pub watch_errors: Counter,
    /// 410 Gone answers on the event watch: its resourceVersion was compacted away.
    pub watch_expired: Counter,
    pub leader: Gauge,
    pub dedupe_entries: Gauge,
}

impl ExporterMetrics {
    /// Creates the metrics and registers them in the service's registry.
    pub fn register(metrics: &Arc<Metrics>) -> Self {
        let m = ExporterMetrics::default();
        metrics.register("k8s_events_seen", "Kubernetes events received from the watch", m.seen.clone());
        metrics.register(
            "k8s_events_published",
            "Kubernetes events published and confirmed",
            m.published.clone(),
        );
        metrics.register(
            "k8s_events_skipped",
            "Kubernetes events not published, by reason",
            m.skipped.clone(),
        );
        metrics.register(
            "k8s_event_publish_retries",
            "Publishes tried again after a broker failure",
            m.publish_retries.clone(),
        );
        metrics.register(
            "k8s_event_watch_restarts",
            "Relists of the event watch (start, 410 Gone, errors)",
            m.watch_restarts.clone(),
        );
        metrics.register(
            "k8s_event_watch_errors",
            "Errors reported by the event watch",
            m.watch_errors.clone(),
        );
        metrics.register(
            "k8s_event_watch_expired",
            "Event watches answered 410 Gone (history compacted away); each makes the watcher relist",
            m.watch_expired.clone(),
        );
        metrics.register("k8s_event_exporter_leader", "1 while this replica publishes", m.leader.clone());
        metrics.register(
            "k8s_event_dedupe_entries",
            "Event uids remembered for deduplication (bounded)",
            m.dedupe_entries.clone(),
        );
        m
    }

    pub fn skip(&self, why: Skip) {
        self.skipped.get_or_create(&SkipLabels { reason: why.label() }).inc();
    }
}
