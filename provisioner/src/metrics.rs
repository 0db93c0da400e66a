//! The provisioner's own metrics: operations by kind and outcome, and their duration.
//! Labels come from fixed sets; never a client name or a trace id.

use std::time::Duration;

use eda_common::metrics::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

/// One operation's kind and how it ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// `provision` or `deprovision`.
    pub operation: &'static str,
    /// `ok`, `transient` or `permanent`.
    pub outcome: &'static str,
}

/// `eda_provisioner_operations_total` and `eda_provisioner_operation_duration_seconds`.
#[derive(Clone, Debug)]
pub struct ProvisionerMetrics {
    operations: Family<OperationLabels, Counter>,
    duration: Histogram,
}

impl ProvisionerMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let m = ProvisionerMetrics {
            operations: Family::default(),
            duration: Histogram::new(exponential_buckets(0.005, 2.0, 16)),
        };
        metrics.register(
            "provisioner_operations",
            "Provision and deprovision operations by outcome",
            m.operations.clone(),
        );
        metrics.register(
            "provisioner_operation_duration_seconds",
            "Time from an order's arrival to its release being ready (or removed), helm included",
            m.duration.clone(),
        );
        m
    }

    pub fn record(&self, operation: &'static str, outcome: &'static str, elapsed: Duration) {
        self.operations.get_or_create(&OperationLabels { operation, outcome }).inc();
        self.duration.observe(elapsed.as_secs_f64());
    }
}
