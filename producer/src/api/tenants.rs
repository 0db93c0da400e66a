//! `GET /api/v1/tenants`: every tenant the ledger knows, a page at a time, with the tenants
//! page's filters (client prefix, status) and cursor.

use axum::extract::{RawQuery, State};
use axum::Json;

use crate::error::ApiError;
use crate::ledger::{TenantPage, TenantQuery};
use crate::state::AppState;

/// `{"tenants": [...], "next_cursor"}`; 400 naming a bad parameter, 503 without a ledger.
pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TenantPage>, ApiError> {
    Ok(Json(page(&state, raw.as_deref()).await?))
}

/// The page a query string asks for: shared with the HTML page, so both refuse alike.
pub async fn page(state: &AppState, raw: Option<&str>) -> Result<TenantPage, ApiError> {
    let query = TenantQuery::from_query(raw).map_err(ApiError::BadParameter)?;
    let ledger = state.ledger()?;
    ledger.tenants(&query).await.map_err(ApiError::LedgerUnavailable)
}
