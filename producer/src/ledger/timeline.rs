//! A trace's timeline as the ledger stored it (`v_trace_timeline`), made into the same entries
//! the status feed makes from the wire: the stored body is the envelope in wire form.

use std::collections::HashSet;
use std::sync::Arc;

use eda_common::Envelope;
use sqlx::Row;
use uuid::Uuid;

use super::{Ledger, LedgerError};
use crate::feed::TimelineEntry;

impl Ledger {
    /// The latest `most` events of `trace_id`, oldest first (empty for a trace never stored).
    pub async fn timeline(&self, trace_id: Uuid, most: usize) -> Result<Vec<TimelineEntry>, LedgerError> {
        let rows = sqlx::query(
            "SELECT message_id, body::text AS body FROM v_trace_timeline WHERE trace_id = $1 \
             ORDER BY published_on DESC, received_at DESC, message_id DESC LIMIT $2",
        )
        .bind(trace_id)
        .bind(i64::try_from(most).unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows.iter().rev() {
            let message_id: String = row.try_get("message_id")?;
            let body: String = row.try_get("body")?;
            match Envelope::from_json(body.as_bytes()) {
                Ok(envelope) => entries.push(TimelineEntry::from_envelope(&envelope, &message_id)),
                // dbwriter stores only envelopes it read; one it cannot read again is skipped, not fatal.
                Err(error) => {
                    tracing::warn!(trace_id = %trace_id, %message_id, %error, "ledger: skipped an unreadable event")
                }
            }
        }
        Ok(entries)
    }
}

/// The ledger's entries, then the cache's that the ledger does not hold yet (dbwriter lags the
/// feed), each once: the whole story after a restart, and on any replica.
pub fn merge(stored: Vec<TimelineEntry>, cached: Vec<Arc<TimelineEntry>>) -> Vec<Arc<TimelineEntry>> {
    let known: HashSet<String> = stored.iter().map(|e| e.message_id.clone()).collect();
    let mut merged: Vec<Arc<TimelineEntry>> = stored.into_iter().map(Arc::new).collect();
    merged.extend(cached.into_iter().filter(|e| !known.contains(&e.message_id)));
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(message_id: &str) -> TimelineEntry {
        TimelineEntry {
            trace_id: Uuid::nil(),
            event_type: "mycompany.provisioner.event.c1.provisioning".into(),
            action: "provisioning".into(),
            app: "provisioner".into(),
            time: "2026-01-01T00:00:00Z".into(),
            message_id: message_id.into(),
            retrace_intent: 0,
            fields: Default::default(),
        }
    }

    #[test]
    fn the_ledger_comes_first_and_the_cache_adds_only_what_it_lacks() {
        let stored = vec![entry("a"), entry("b")];
        let cached = vec![Arc::new(entry("b")), Arc::new(entry("c"))];
        let ids: Vec<String> = merge(stored, cached).iter().map(|e| e.message_id.clone()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }
}
