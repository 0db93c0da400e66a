//! The publish side: takes the watch's items in order, decides for each event (duplicate,
//! old, filtered, namespace, trace), publishes it with confirms, and moves the watermark
//! only past what is done. A failed publish is retried until it is confirmed or the
//! exporter stops (shutdown, lost lease): nothing is dropped, and the watch waits.

use std::time::Duration;

use eda_common::retry::Backoff;
use eda_common::Publisher;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::checkpoint::Progress;
use crate::dedupe::{Gate, Skip};
use crate::envelope::{envelope_for, message_id, Attribution};
use crate::filter::Filters;
use crate::kube_event::KubeEvent;
use crate::metrics::ExporterMetrics;
use crate::namespaces::{Namespaces, Tenant};
use crate::pod_traces::PodTraces;
use crate::source::Item;

/// Everything the publish loop needs.
pub struct Exporter {
    pub publisher: Publisher,
    pub company: String,
    pub namespaces: Namespaces,
    pub pods: Option<PodTraces>,
    pub filters: Filters,
    pub include_untraced: bool,
    pub gate: Gate,
    pub progress: Progress,
    pub metrics: ExporterMetrics,
}

/// How one event ended.
enum Outcome {
    Published,
    Skipped(Skip),
    /// Stopped before it was done: it stays above the watermark for the next run.
    Interrupted,
}

impl Exporter {
    /// Runs until the watch ends or `stop`; each watermark it reaches goes to `watermark`.
    pub async fn run(mut self, mut items: mpsc::Receiver<Item>, watermark: watch::Sender<Option<u64>>, stop: CancellationToken) {
        loop {
            let item = tokio::select! {
                // Stopping wins over items still queued: a lost lease stops publishing at once.
                biased;
                () = stop.cancelled() => return,
                item = items.recv() => match item { Some(item) => item, None => return },
            };
            match item {
                Item::Relisting => self.progress.relisting(),
                Item::Listed => self.progress.listed(),
                Item::Deleted(rv) => self.progress.handled(rv),
                Item::Event(event) => match self.handle(&event, &stop).await {
                    Outcome::Interrupted => return,
                    Outcome::Published => self.progress.handled(event.resource_version),
                    Outcome::Skipped(why) => {
                        self.metrics.skip(why);
                        self.progress.handled(event.resource_version);
                    }
                },
            }
            if let Some(rv) = self.progress.watermark() {
                self.gate.raise_floor(rv);
                watermark.send_if_modified(|w| std::mem::replace(w, Some(rv)) != Some(rv));
            }
        }
    }

    async fn handle(&mut self, event: &KubeEvent, stop: &CancellationToken) -> Outcome {
        self.metrics.seen.inc();
        if let Err(why) = self.gate.check(event) {
            return Outcome::Skipped(why);
        }
        if !self.filters.allows(event) {
            return Outcome::Skipped(Skip::Filtered);
        }
        let who = match self.attribute(event, stop).await {
            Some(Ok(who)) => who,
            Some(Err(why)) => return Outcome::Skipped(why),
            None => return Outcome::Interrupted,
        };
        let envelope = envelope_for(&self.company, event, &who);
        let out = self.publisher.event_with_id(&envelope, &message_id(event));
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        loop {
            match self.publisher.send(out.clone()).await {
                Ok(()) => break,
                Err(error) => {
                    self.metrics.publish_retries.inc();
                    let trace_id = who.trace_id.to_string();
                    tracing::warn!(%trace_id, %error, "publishing a Kubernetes event failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(backoff.next_delay()) => {}
                        () = stop.cancelled() => return Outcome::Interrupted,
                    }
                }
            }
        }
        self.gate.published(event);
        self.metrics.published.inc();
        self.metrics.dedupe_entries.set(i64::try_from(self.gate.remembered()).unwrap_or(i64::MAX));
        tracing::debug!(trace_id = %who.trace_id, event_type = %envelope.event_type(), "published a Kubernetes event");
        Outcome::Published
    }

    /// Client and trace of an event, or why it is skipped; `None` when stopped meanwhile.
    async fn attribute(&self, event: &KubeEvent, stop: &CancellationToken) -> Option<Result<Attribution, Skip>> {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let tenant = loop {
            match self.namespaces.lookup(&event.namespace).await {
                Ok(tenant) => break tenant,
                Err(error) => {
                    tracing::warn!(%error, "could not look the event's namespace up; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(backoff.next_delay()) => {}
                        () = stop.cancelled() => return None,
                    }
                }
            }
        };
        let Tenant::Selected { client, trace_id } = tenant else { return Some(Err(Skip::Unselected)) };
        let own = match &self.pods {
            Some(pods) => pods.trace_id(&event.involved, &event.namespace).await,
            None => None,
        };
        Some(match own.or(trace_id) {
            Some(trace_id) => Ok(Attribution { client, trace_id, untraced: false }),
            None if self.include_untraced => Ok(Attribution { client, trace_id: Uuid::new_v4(), untraced: true }),
            None => Err(Skip::Untraced),
        })
    }
}
