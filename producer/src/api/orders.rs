//! `POST /api/v1/orders` (a purchase: `published`) and `DELETE /api/v1/orders/{client}/{product}`
//! (a cancellation: `cancelled`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Extension;
use axum::Json;
use eda_common::client_name::validate_dns1123_label;
use eda_common::{ClientName, Envelope, EventType};
use serde_json::Map;

use super::body;
use crate::auth::identity::Identity;
use crate::error::{ApiError, FieldError};
use crate::order::Order;
use crate::state::{Accepted, AppState};

/// Validates an order and publishes its `published` event; 403 for a client not granted.
pub async fn create(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let fields = body::json_object(&headers, body)?;
    let order = Order::from_fields(&fields, &state.catalog).map_err(ApiError::Invalid)?;
    identity.may_act_for(order.client.as_str())?;
    let envelope = order.envelope(&state.publishing).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((StatusCode::ACCEPTED, Json(state.publish(&envelope).await?)))
}

/// Publishes `cancelled` for a client's product, in a new trace. `?namespace=` when the
/// order named one other than the client. 403 for a client not granted.
pub async fn cancel(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path((client, product)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let mut errors = Vec::new();
    let client =
        ClientName::parse(&client).map_err(|e| errors.push(FieldError::new("client", e.to_string()))).ok();
    // Not checked against the catalog: a product withdrawn since the purchase must still be cancellable.
    if let Err(e) = validate_dns1123_label("product", &product) {
        errors.push(FieldError::new("product", e.to_string()));
    }
    let namespace = query.get("namespace").filter(|n| !n.is_empty()).cloned();
    if let Some(ns) = &namespace {
        if let Err(e) = validate_dns1123_label("namespace", ns) {
            errors.push(FieldError::new("namespace", e.to_string()));
        }
    }
    let Some(client) = client.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Invalid(errors));
    };
    identity.may_act_for(client.as_str())?;
    let company = &state.publishing.company;
    let event_type = EventType::new(company, "producer", client.as_str(), "cancelled")
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut fields = Map::new();
    fields.insert("client".into(), client.as_str().into());
    fields.insert("namespace".into(), namespace.unwrap_or_else(|| client.to_string()).into());
    fields.insert("product".into(), product.into());
    let envelope =
        state.publishing.stamp(Envelope::new(event_type, eda_common::telemetry::new_trace_id(), fields));
    Ok((StatusCode::ACCEPTED, Json(state.publish(&envelope).await?)))
}
