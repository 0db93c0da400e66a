//! The dbwriter's own metrics, beside the runtime's (`eda_batch_size`, `eda_messages_*`).

use std::sync::atomic::AtomicU64;

use eda_common::metrics::Metrics;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

/// Counters and timings of batch writes.
#[derive(Debug, Clone)]
pub struct WriteMetrics {
    pub rows_inserted: Counter,
    pub duplicates_skipped: Counter,
    pub rows_rejected: Counter,
    pub database_errors: Counter,
    pub commit_seconds: Histogram,
    pub lag_seconds: Gauge<f64, AtomicU64>,
}

impl WriteMetrics {
    /// Creates the metrics and registers them as `eda_dbwriter_*`.
    pub fn register(metrics: &Metrics) -> Self {
        let m = WriteMetrics {
            rows_inserted: Counter::default(),
            duplicates_skipped: Counter::default(),
            rows_rejected: Counter::default(),
            database_errors: Counter::default(),
            commit_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            lag_seconds: Gauge::default(),
        };
        metrics.register("dbwriter_rows_inserted", "Event rows inserted", m.rows_inserted.clone());
        metrics.register(
            "dbwriter_duplicates_skipped",
            "Messages already stored (redeliveries, replays), not inserted again",
            m.duplicates_skipped.clone(),
        );
        metrics.register(
            "dbwriter_rows_rejected",
            "Messages whose data PostgreSQL refused; dead-lettered",
            m.rows_rejected.clone(),
        );
        metrics.register(
            "dbwriter_database_errors",
            "Batches not written because the database was unavailable or read-only",
            m.database_errors.clone(),
        );
        metrics.register(
            "dbwriter_commit_duration_seconds",
            "Time to write and commit one batch, from BEGIN to COMMIT",
            m.commit_seconds.clone(),
        );
        metrics.register(
            "dbwriter_lag_seconds",
            "received_at minus published_on of the newest committed event",
            m.lag_seconds.clone(),
        );
        m
    }
}
