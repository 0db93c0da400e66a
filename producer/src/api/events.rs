//! `POST /api/v1/events`: an envelope built by the caller (any language), validated as the
//! consumers would read it, and published as is: same trace id, the suite's AMQP properties.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use eda_common::Envelope;

use super::body;
use crate::error::ApiError;
use crate::state::{Accepted, AppState};

pub async fn publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    if !body::has_content_type(&headers, "application/json") {
        return Err(ApiError::UnsupportedMediaType { expected: "application/json" });
    }
    let envelope = Envelope::from_json(&body::bytes(body)?)?;
    Ok((StatusCode::ACCEPTED, Json(state.publish(&envelope).await?)))
}
