//! What every request handler shares, and the one way the producer publishes an event.

use std::sync::Arc;
use std::time::Duration;

use eda_common::publisher::PublishError;
use eda_common::{Envelope, Publisher};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::auth::identity::{Grant, Identity};
use crate::catalog::Catalog;
use crate::error::ApiError;
use crate::feed::{TimelineEntry, TraceCache};
use crate::ledger::{self, Ledger};
use crate::order::Publishing;
use uuid::Uuid;

/// Shared by every handler; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    pub publisher: Publisher,
    pub publishing: Arc<Publishing>,
    pub cache: TraceCache,
    /// The ledger, when `PRODUCER_DATABASE_URL` is set.
    pub ledger: Option<Ledger>,
    /// Events per trace a timeline shows at most (the cache's bound, applied to the ledger too).
    pub trace_events_max: usize,
    /// Longest time a request waits for its publish (connection + confirm) before a 503.
    pub publish_timeout: Duration,
    /// Cancelled when the producer stops, so live streams end and the server can drain.
    pub stopping: CancellationToken,
}

/// The answer to an accepted event: `202 {"trace_id", "event_type", "status_url", "message_id"}`.
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    pub trace_id: String,
    pub event_type: String,
    pub status_url: String,
    pub message_id: String,
}

impl AppState {
    /// The ledger, or the 503 that says how to configure one.
    pub fn ledger(&self) -> Result<&Ledger, ApiError> {
        self.ledger.as_ref().ok_or(ApiError::NoLedger)
    }

    /// The timeline of a trace: the ledger's (when there is one) and the cache's newer events,
    /// so it survives a restart and answers on every replica. A ledger that does not answer
    /// leaves the cache's alone: the live status must not fail with the database.
    pub async fn timeline(&self, trace_id: Uuid) -> Vec<Arc<TimelineEntry>> {
        let cached = self.cache.timeline(trace_id);
        let Some(ledger) = &self.ledger else { return cached };
        match ledger.timeline(trace_id, self.trace_events_max).await {
            Ok(stored) => ledger::timeline::merge(stored, cached),
            Err(error) => {
                tracing::warn!(trace_id = %trace_id, %error, "ledger unavailable: the timeline shows the cache only");
                cached
            }
        }
    }

    /// The timeline of a trace as `viewer` may see it: only the events of the clients it is
    /// granted. A trace with events and none of them visible is another client's: 403.
    pub async fn timeline_for(
        &self,
        trace_id: Uuid,
        viewer: &Identity,
    ) -> Result<Vec<Arc<TimelineEntry>>, ApiError> {
        let timeline = self.timeline(trace_id).await;
        if viewer.grant == Grant::Every {
            return Ok(timeline);
        }
        let total = timeline.len();
        let visible: Vec<_> = timeline.into_iter().filter(|e| visible_to(e, &viewer.grant)).collect();
        if total > 0 && visible.is_empty() {
            tracing::warn!(identity = %viewer.name, trace_id = %trace_id, "refused: the trace is another client's");
            return Err(ApiError::Forbidden(format!("trace {trace_id} is not one of your clients'")));
        }
        Ok(visible)
    }

    /// Publishes with a confirm; only a confirmed event is accepted (503 otherwise).
    pub async fn publish(&self, envelope: &Envelope) -> Result<Accepted, ApiError> {
        let trace_id = envelope.trace_id();
        let event_type = envelope.event_type().to_string();
        // The whole publish is bounded here too: while disconnected, the publisher's channel slot
        // is held by one waiting publish at a time, so concurrent requests would queue behind
        // each other's timeouts. Every request gets its answer within the timeout instead.
        let publish = tokio::time::timeout(self.publish_timeout, self.publisher.publish(envelope));
        let outcome = publish
            .await
            .unwrap_or_else(|_| Err(PublishError::Timeout(event_type.clone(), self.publish_timeout)));
        let message_id = outcome.map_err(|e| {
            tracing::warn!(trace_id = %trace_id, event_type = %event_type, error = %e, "event not published");
            ApiError::Unavailable(e)
        })?;
        tracing::info!(trace_id = %trace_id, event_type = %event_type, message_id = %message_id, "event published");
        // Shown at once: the feed brings the same message a moment later and the cache drops the copy.
        self.cache.record(TimelineEntry::from_envelope(envelope, &message_id));
        Ok(Accepted {
            trace_id: trace_id.to_string(),
            event_type,
            status_url: format!("/api/v1/traces/{trace_id}"),
            message_id,
        })
    }
}

/// Whether `grant` covers the client an event is for (its event type's client segment).
pub fn visible_to(entry: &TimelineEntry, grant: &Grant) -> bool {
    match grant {
        Grant::Every => true,
        Grant::Clients(_) => entry.client().is_some_and(|c| grant.covers(c)),
    }
}
