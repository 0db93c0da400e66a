//! Prometheus metrics of the runtime. Names start with `eda_`; labels come from small fixed
//! sets (service, outcome, reason kind) and never carry a client name or a trace id.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Metric, Registry};

/// Why a message went to the parking lot.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeadLabels {
    /// `malformed`, `permanent` or `exhausted`.
    pub reason: &'static str,
}

/// How a publish ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PublishLabels {
    /// `confirmed`, `nacked`, `returned`, `timeout` or `error`.
    pub outcome: &'static str,
}

/// A way the broker's topology differs from eda's (DESIGN.md §3); both from small fixed sets.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopologyLabels {
    /// The object's role: `events_exchange`, `parking_lot`, `service_queue`, `retry_queue`, …
    pub object_kind: &'static str,
    /// `alternate_exchange`, `queue_type`, `exchange_type`, `durable`, `dead_lettering`, …
    pub difference: &'static str,
}

/// The runtime's metrics, registered under `eda_` with a constant `service` label.
pub struct Metrics {
    registry: Mutex<Registry>,
    pub consumed: Counter,
    pub acked: Counter,
    pub ack_failed: Counter,
    pub retried: Counter,
    pub dead_lettered: Family<DeadLabels, Counter>,
    pub published: Family<PublishLabels, Counter>,
    pub handler_seconds: Histogram,
    pub publish_seconds: Histogram,
    pub batch_size: Histogram,
    pub connected: Gauge,
    pub reconnects: Counter,
    pub topology_differences: Family<TopologyLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics of one service instance; every series carries `service="<service>"`.
    pub fn new(service: &str) -> Self {
        let mut registry = Registry::with_prefix_and_labels(
            "eda",
            [("service".into(), service.to_owned().into())].into_iter(),
        );
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            consumed: Counter::default(),
            acked: Counter::default(),
            ack_failed: Counter::default(),
            retried: Counter::default(),
            dead_lettered: Family::default(),
            published: Family::default(),
            handler_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 18)),
            publish_seconds: Histogram::new(exponential_buckets(0.0002, 2.0, 16)),
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            connected: Gauge::default(),
            reconnects: Counter::default(),
            topology_differences: Family::default(),
        };
        registry.register("messages_consumed", "Deliveries received from the broker", m.consumed.clone());
        registry.register(
            "messages_acked",
            "Deliveries acknowledged after their effect was durable",
            m.acked.clone(),
        );
        registry.register(
            "ack_failed",
            "Acks not sent because the channel was gone (the broker redelivers)",
            m.ack_failed.clone(),
        );
        registry.register("messages_retried", "Messages sent to a delayed retry level", m.retried.clone());
        registry.register(
            "messages_dead_lettered",
            "Messages parked in the dead-letter queue, by reason",
            m.dead_lettered.clone(),
        );
        registry.register("messages_published", "Publishes by outcome", m.published.clone());
        registry.register(
            "handler_duration_seconds",
            "Time spent in the business handler per message or batch",
            m.handler_seconds.clone(),
        );
        registry.register(
            "publish_duration_seconds",
            "Time from publish to broker confirm",
            m.publish_seconds.clone(),
        );
        registry.register("batch_size", "Messages per batch handed to a batch handler", m.batch_size.clone());
        registry.register("broker_connected", "1 while connected to the broker", m.connected.clone());
        registry.register(
            "broker_reconnects",
            "Connections re-established after a loss",
            m.reconnects.clone(),
        );
        registry.register(
            "topology_differences",
            "Exchanges and queues that exist with other arguments than eda declares, by role and difference",
            m.topology_differences.clone(),
        );
        *m.registry.lock().expect("metrics registry poisoned") = registry;
        m
    }

    /// Registers a service's own metric (name without the `eda_` prefix).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.registry.lock().expect("metrics registry poisoned").register(name, help, metric);
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().expect("metrics registry poisoned");
        encode(&mut out, &registry).expect("writing to a String cannot fail");
        out
    }

    /// Counts a message parked in the dead-letter queue (`malformed`, `permanent`, `exhausted`).
    pub fn dead(&self, reason: &'static str) {
        self.dead_lettered.get_or_create(&DeadLabels { reason }).inc();
    }

    pub(crate) fn publish_outcome(&self, outcome: &'static str) {
        self.published.get_or_create(&PublishLabels { outcome }).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_is_prefixed_and_labelled_by_service_only() {
        let m = Metrics::new("dbwriter");
        m.consumed.inc();
        m.dead("malformed");
        let text = m.encode();
        assert!(text.contains("eda_messages_consumed_total{service=\"dbwriter\"} 1"), "{text}");
        assert!(
            text.contains("eda_messages_dead_lettered_total{service=\"dbwriter\",reason=\"malformed\"} 1"),
            "{text}"
        );
    }
}
