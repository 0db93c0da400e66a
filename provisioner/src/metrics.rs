//! The provisioner's own metrics. Labels come from fixed sets; never a client name, a tenant
//! name or a trace id.
//!
//! - `eda_provisioner_operations_total{operation,outcome}` and
//!   `eda_provisioner_operation_duration_seconds`: provisions and deprovisions of an order,
//!   helm included;
//! - `eda_provisioner_stale_orders_total`: orders acked with no effect (`superseded`);
//! - `eda_provisioner_reconciles_total{outcome}` and `…_reconcile_duration_seconds`;
//! - `eda_provisioner_tenants{phase}`: the leader's count of its Tenants by phase;
//! - `eda_provisioner_resync_repairs_total{object}`: drift the resync repaired;
//! - `eda_provisioner_pending_releases_recovered_total`, `eda_provisioner_leader`.

use std::collections::HashMap;
use std::time::Duration;

use eda_common::metrics::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

use crate::tenants::Phase;

/// One operation's kind and how it ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// `provision` or `deprovision`.
    pub operation: &'static str,
    /// `ok`, `transient` or `permanent`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `ok`, `superseded` (a newer order stopped it), `waiting` (for a release helm may still
    /// hold), `transient` or `permanent`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    pub phase: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RepairLabels {
    /// `baseline` or `release`.
    pub object: &'static str,
}

#[derive(Clone, Debug)]
pub struct ProvisionerMetrics {
    operations: Family<OperationLabels, Counter>,
    duration: Histogram,
    stale: Counter,
    reconciles: Family<OutcomeLabels, Counter>,
    reconcile_duration: Histogram,
    tenants: Family<PhaseLabels, Gauge>,
    repairs: Family<RepairLabels, Counter>,
    recovered: Counter,
    leader: Gauge,
}

impl ProvisionerMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let m = ProvisionerMetrics {
            operations: Family::default(),
            duration: Histogram::new(exponential_buckets(0.005, 2.0, 16)),
            stale: Counter::default(),
            reconciles: Family::default(),
            reconcile_duration: Histogram::new(exponential_buckets(0.005, 2.0, 16)),
            tenants: Family::default(),
            repairs: Family::default(),
            recovered: Counter::default(),
            leader: Gauge::default(),
        };
        metrics.register(
            "provisioner_operations",
            "Provisions and deprovisions of an order, by outcome",
            m.operations.clone(),
        );
        metrics.register(
            "provisioner_operation_duration_seconds",
            "Time to bring a tenant to its order (release ready, or removed), helm included",
            m.duration.clone(),
        );
        metrics.register(
            "provisioner_stale_orders",
            "Orders not newer than their tenant's newest order, acked with no effect",
            m.stale.clone(),
        );
        metrics.register(
            "provisioner_reconciles",
            "Reconciler passes over one tenant, by outcome",
            m.reconciles.clone(),
        );
        metrics.register(
            "provisioner_reconcile_duration_seconds",
            "Time of one reconciler pass over one tenant",
            m.reconcile_duration.clone(),
        );
        metrics.register(
            "provisioner_tenants",
            "This installation's Tenants by phase, as the leader last saw them",
            m.tenants.clone(),
        );
        metrics.register(
            "provisioner_resync_repairs",
            "Drift the periodic resync repaired, by object",
            m.repairs.clone(),
        );
        metrics.register(
            "provisioner_pending_releases_recovered",
            "Releases recovered from a pending-* state a killed helm left",
            m.recovered.clone(),
        );
        metrics.register(
            "provisioner_leader",
            "1 while this replica holds the reconciler's Lease",
            m.leader.clone(),
        );
        for phase in Phase::ALL {
            m.tenants.get_or_create(&PhaseLabels { phase: phase.as_str() }).set(0);
        }
        m
    }

    pub fn record(&self, operation: &'static str, outcome: &'static str, elapsed: Duration) {
        self.operations.get_or_create(&OperationLabels { operation, outcome }).inc();
        self.duration.observe(elapsed.as_secs_f64());
    }

    pub fn stale_order(&self) {
        self.stale.inc();
    }

    pub fn reconciled(&self, outcome: &'static str, elapsed: Duration) {
        self.reconciles.get_or_create(&OutcomeLabels { outcome }).inc();
        self.reconcile_duration.observe(elapsed.as_secs_f64());
    }

    pub fn set_phases(&self, phases: &HashMap<String, Phase>) {
        for phase in Phase::ALL {
            let count = phases.values().filter(|p| **p == phase).count();
            self.tenants.get_or_create(&PhaseLabels { phase: phase.as_str() }).set(count as i64);
        }
    }

    pub fn resync_repairs(&self, baseline: bool, release: bool) {
        if baseline {
            self.repairs.get_or_create(&RepairLabels { object: "baseline" }).inc();
        }
        if release {
            self.repairs.get_or_create(&RepairLabels { object: "release" }).inc();
        }
    }

    pub fn pending_recovered(&self) {
        self.recovered.inc();
    }

    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }
}
