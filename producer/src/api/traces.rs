//! `GET /api/v1/traces/{trace_id}` (the timeline seen so far) and
//! `GET /api/v1/traces/{trace_id}/events` (the same, then live, as server-sent events). Both
//! fall back to the ledger for what the cache does not hold (a restart, another replica). A
//! buyer sees only its clients' events, and another client's trace is refused (403).

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::{Extension, Json};
use futures_util::future::ready;
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::identity::Identity;
use crate::error::ApiError;
use crate::feed::{live, TimelineEntry};
use crate::state::{visible_to, AppState};

/// `{"trace_id", "events": [...]}`, oldest first: the ledger's and the cache's (see
/// [`AppState::timeline`]); empty when nothing was seen (yet), or evicted and no ledger is set.
pub async fn timeline(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(trace_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trace_id = parse(&trace_id)?;
    let timeline = state.timeline_for(trace_id, &identity).await?;
    let events: Vec<&TimelineEntry> = timeline.iter().map(|e| &**e).collect();
    Ok(Json(json!({ "trace_id": trace_id.to_string(), "events": events })))
}

/// The cached timeline, then every new event of this trace only, until the producer stops.
pub async fn events(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path(trace_id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let trace_id = parse(&trace_id)?;
    // Subscribe before reading the cache, so nothing falls between the two; the overlap is deduped.
    let live = state.cache.subscribe();
    let past = state.timeline_for(trace_id, &identity).await?;
    let mut seen: HashSet<String> = past.iter().map(|e| e.message_id.clone()).collect();
    let grant = identity.grant;
    let following = live::entries(live, state.stopping.clone(), "trace status")
        .filter(move |entry| {
            ready(
                entry.trace_id == trace_id
                    && visible_to(entry, &grant)
                    && seen.insert(entry.message_id.clone()),
            )
        })
        .map(|entry| Ok(sse_event(&entry)));
    let stream = stream::iter(past.into_iter().map(|e| Ok(sse_event(&e)))).chain(following);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn sse_event(entry: &Arc<TimelineEntry>) -> Event {
    let data = serde_json::to_string(&**entry).expect("a timeline entry serializes");
    Event::default().id(entry.message_id.as_str()).data(data)
}

fn parse(trace_id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(trace_id)
        .map_err(|_| ApiError::invalid("trace_id", format!("trace_id {trace_id:?} is not a UUID")))
}
