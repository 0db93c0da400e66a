//! The publish side: takes the watch's items in order, decides for each event (duplicate,
//! old, filtered, namespace, trace), publishes it with confirms, and moves the watermark
//! only past what is done. A failed publish is retried until it is confirmed or the
//! exporter stops (shutdown, lost lease): nothing is dropped, and the watch waits.

use eda_common::publisher::Outgoing;
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

/// What to do with one event.
enum Decision {
    Publish(Box<Outgoing>),
    Skip(Skip),
    /// Stopped before it was decided: it stays above the watermark for the next run.
    Interrupted,
}

/// Items taken from the channel at once: their publishes are in flight together, which is
/// what makes a burst fast (one confirm round-trip per batch, not per event).
const MAX_BATCH: usize = 256;

impl Exporter {
    /// Runs until the watch ends or `stop`; each watermark it reaches goes to `watermark`.
    pub async fn run(
        mut self,
        mut items: mpsc::Receiver<Item>,
        watermark: watch::Sender<Option<u64>>,
        stop: CancellationToken,
    ) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            tokio::select! {
                // Stopping wins over items still queued: a lost lease stops publishing at once.
                biased;
                () = stop.cancelled() => break,
                received = items.recv_many(&mut batch, MAX_BATCH) => if received == 0 { return },
            }
            if !self.export(&batch, &stop).await {
                return;
            }
            for item in batch.drain(..) {
                self.progress.apply(&item);
            }
            self.report(&watermark);
        }
        // Queued markers need no publish: taking them lets a clean stop right after a list
        // persist that list's watermark instead of relisting it next time.
        while let Ok(item) = items.try_recv() {
            if matches!(item, Item::Event(_)) {
                break;
            }
            self.progress.apply(&item);
        }
        self.report(&watermark);
    }

    fn report(&mut self, watermark: &watch::Sender<Option<u64>>) {
        if let Some(rv) = self.progress.watermark() {
            self.gate.raise_floor(rv);
            watermark.send_if_modified(|w| w.replace(rv) != Some(rv));
        }
    }

    /// Decides every event of a batch, in order, and publishes those to publish until the
    /// broker confirmed them all. `false` when stopped first: nothing of the batch counts.
    async fn export(&mut self, batch: &[Item], stop: &CancellationToken) -> bool {
        let mut outgoing = Vec::new();
        for item in batch {
            let Item::Event(event) = item else { continue };
            self.metrics.seen.inc();
            match self.decide(event, stop).await {
                Decision::Publish(out) => {
                    // Marked now so a later update of the same event in this batch is judged
                    // against it; if the batch is abandoned, so is this gate.
                    self.gate.published(event);
                    outgoing.push(*out);
                }
                Decision::Skip(why) => self.metrics.skip(why),
                Decision::Interrupted => return false,
            }
        }
        let count = outgoing.len() as u64;
        let mut backoff = Backoff::retrying();
        // A failed batch is sent again whole: the events confirmed before the failure arrive
        // twice, with the same message ids (at-least-once, never lost).
        while let Err(error) = self.publisher.send_all(outgoing.clone()).await {
            self.metrics.publish_retries.inc();
            tracing::warn!(%error, events = count, "publishing Kubernetes events failed; retrying");
            tokio::select! {
                () = tokio::time::sleep(backoff.next_delay()) => {}
                () = stop.cancelled() => return false,
            }
        }
        self.metrics.published.inc_by(count);
        self.metrics.dedupe_entries.set(i64::try_from(self.gate.remembered()).unwrap_or(i64::MAX));
        true
    }

    async fn decide(&mut self, event: &KubeEvent, stop: &CancellationToken) -> Decision {
        if let Err(why) = self.gate.check(event) {
            return Decision::Skip(why);
        }
        if !self.filters.allows(event) {
            return Decision::Skip(Skip::Filtered);
        }
        let who = match self.attribute(event, stop).await {
            Some(Ok(who)) => who,
            Some(Err(why)) => return Decision::Skip(why),
            None => return Decision::Interrupted,
        };
        let envelope = envelope_for(&self.company, event, &who);
        tracing::debug!(trace_id = %who.trace_id, event_type = %envelope.event_type(), "publishing a Kubernetes event");
        let id = message_id(event);
        let message = || self.publisher.event_with_id(&envelope, &id);
        if !eda_common::telemetry::exporting() {
            return Decision::Publish(Box::new(message()));
        }
        // Exported, the event is a span in the purchase's trace, under the order's span, and the
        // message goes on under it.
        let span = tracing::info_span!("export", otel.name = %format_args!("export {}", event.reason),
            trace_id = %who.trace_id, k8s.event.reason = %event.reason);
        eda_common::telemetry::continue_trace(&span, who.trace_id, who.order_span.as_deref(), &id);
        Decision::Publish(Box::new(span.in_scope(message)))
    }

    /// Client and trace of an event, or why it is skipped; `None` when stopped meanwhile.
    async fn attribute(
        &self,
        event: &KubeEvent,
        stop: &CancellationToken,
    ) -> Option<Result<Attribution, Skip>> {
        let mut backoff = Backoff::retrying();
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
        let Tenant::Selected { client, trace_id, order_span } = tenant else {
            return Some(Err(Skip::Unselected));
        };
        let own = match &self.pods {
            Some(pods) => pods.trace_id(&event.involved, &event.namespace).await,
            None => None,
        };
        Some(match own.or(trace_id) {
            Some(trace_id) => Ok(Attribution { client, trace_id, untraced: false, order_span }),
            None if self.include_untraced => {
                Ok(Attribution { client, trace_id: Uuid::new_v4(), untraced: true, order_span: None })
            }
            None => Err(Skip::Untraced),
        })
    }
}
