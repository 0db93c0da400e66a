//! The feed's entries as they arrive, for the live streams (a trace's status, the tenants
//! page): from a receiver subscribed before the caller read what it already holds, until the
//! producer stops. A stream that falls behind skips what it missed, which the timeline
//! endpoint and the ledger still hold.

use std::sync::Arc;

use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use super::TimelineEntry;

/// Every entry from `live` until `stopping`; `what` names the stream in the log of a lag.
pub fn entries(
    live: broadcast::Receiver<Arc<TimelineEntry>>,
    stopping: CancellationToken,
    what: &'static str,
) -> impl Stream<Item = Arc<TimelineEntry>> {
    stream::unfold(live, move |mut live| {
        let stopping = stopping.clone();
        async move {
            loop {
                let received = tokio::select! {
                    () = stopping.cancelled() => return None,
                    received = live.recv() => received,
                };
                match received {
                    Ok(entry) => return Some((entry, live)),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, stream = what, "live stream fell behind")
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    })
}
