//! `POST /api/v1/events`: an envelope built by the caller (any language), validated as the
//! consumers would read it, and published as is: same trace id, the suite's AMQP properties.
//! A buyer may publish only for its own clients (the event type's client segment and the
//! body's `client`), and only into a trace no other client's events are in.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use eda_common::Envelope;

use super::body;
use crate::auth::identity::{Grant, Identity};
use crate::error::ApiError;
use crate::state::{Accepted, AppState};

pub async fn publish(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    if !body::has_content_type(&headers, "application/json") {
        return Err(ApiError::UnsupportedMediaType { expected: "application/json" });
    }
    let envelope = Envelope::from_json(&body::bytes(body)?)?;
    identity.may_act_for(envelope.event_type().client())?;
    if let Some(client) = envelope.body.get("client").and_then(|c| c.as_str()) {
        identity.may_act_for(client)?;
    }
    if identity.grant != Grant::Every {
        // Refuses (403) a trace that holds another client's events.
        state.timeline_for(envelope.trace_id(), &identity).await?;
    }
    Ok((StatusCode::ACCEPTED, Json(state.publish(&envelope).await?)))
}
