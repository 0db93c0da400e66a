//! The export pipeline of the leading replica: read the watermark, find the events API,
//! then watch → bounded channel → publish, with the watermark flushed behind.

use chrono::{DateTime, Utc};
use eda_common::retry::Backoff;
use eda_common::Publisher;
use kube::Client;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::checkpoint::{self, Progress, Watermarks};
use crate::config::Config;
use crate::dedupe::Gate;
use crate::error::Result;
use crate::exporter::Exporter;
use crate::filter::Filters;
use crate::metrics::ExporterMetrics;
use crate::namespaces::Namespaces;
use crate::pod_traces::PodTraces;
use crate::source::{self, EventsApi};

/// What a pipeline is built from; it runs once per leadership term.
pub struct Pipeline<'a> {
    pub config: &'a Config,
    pub client: &'a Client,
    pub namespaces: Namespaces,
    pub publisher: Publisher,
    pub metrics: &'a ExporterMetrics,
    /// When this process started: on a first start (no watermark), older events are old.
    pub started: DateTime<Utc>,
}

impl Pipeline<'_> {
    /// Exports until `stop`. Set-up failures (API unreachable) are retried with backoff.
    pub async fn run(&self, stop: CancellationToken) {
        let config = self.config;
        let watermarks =
            Watermarks::new(self.client.clone(), &config.state_namespace(), &config.state_configmap);
        let mut backoff = Backoff::reconnecting();
        let (watermark, api) = loop {
            match self.prepare(&watermarks).await {
                Ok(ready) => break ready,
                Err(error) => {
                    tracing::warn!(%error, "could not start exporting; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(backoff.next_delay()) => {}
                        () = stop.cancelled() => return,
                    }
                }
            }
        };
        tokio::select! {
            () = self.namespaces.synced() => {}
            () = stop.cancelled() => return,
        }
        let cutoff = (!config.replay && watermark.is_none()).then_some(self.started);
        tracing::info!(?api, ?watermark, replay = config.replay, "exporting Kubernetes events");
        let exporter = Exporter {
            publisher: self.publisher.clone(),
            company: config.common.company.clone(),
            namespaces: self.namespaces.clone(),
            pods: config.pod_trace_ids.then(|| PodTraces::new(self.client.clone())),
            filters: Filters::new(&config.types, &config.reasons, &config.exclude_reasons),
            include_untraced: config.include_untraced,
            gate: Gate::new(config.dedupe_capacity, watermark, cutoff),
            progress: Progress::new(watermark),
            metrics: self.metrics.clone(),
        };
        let (items_tx, items) = mpsc::channel(config.buffer.max(1));
        let (watermark_tx, watermark_rx) = watch::channel(watermark);
        let flusher = tokio::spawn(checkpoint::flush(watermarks, watermark_rx, config.checkpoint_interval));
        let watch = tokio::spawn(source::watch(
            self.client.clone(),
            api,
            items_tx,
            self.metrics.clone(),
            stop.clone(),
        ));
        exporter.run(items, watermark_tx, stop.clone()).await;
        stop.cancel();
        watch.await.ok();
        // The exporter dropped its watermark sender: the flusher writes the last one and ends.
        flusher.await.ok();
    }

    async fn prepare(&self, watermarks: &Watermarks) -> Result<(Option<u64>, EventsApi)> {
        let watermark = watermarks.load().await?;
        let api = source::discover(self.client).await?;
        Ok((watermark, api))
    }
}
