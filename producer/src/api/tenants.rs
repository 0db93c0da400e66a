//! `GET /api/v1/tenants`: every tenant the ledger knows (a buyer: of its clients only), a page
//! at a time, with the tenants page's filters (client prefix, status) and cursor.

use axum::extract::{RawQuery, State};
use axum::{Extension, Json};

use crate::auth::identity::Identity;
use crate::error::ApiError;
use crate::ledger::{TenantPage, TenantQuery};
use crate::state::AppState;

/// `{"tenants": [...], "next_cursor"}`; 400 naming a bad parameter, 503 without a ledger.
pub async fn list(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TenantPage>, ApiError> {
    Ok(Json(page(&state, raw.as_deref(), &identity).await?))
}

/// The page a query string asks for, of the clients `viewer` may see: shared with the HTML
/// page, so both refuse alike. A client filter naming a client not granted is refused (403).
pub async fn page(state: &AppState, raw: Option<&str>, viewer: &Identity) -> Result<TenantPage, ApiError> {
    let mut query = TenantQuery::from_query(raw).map_err(ApiError::BadParameter)?;
    if let Some(visible) = viewer.grant.clients() {
        if let Some(prefix) = &query.client {
            if !visible.iter().any(|c| c.starts_with(prefix.as_str())) {
                viewer.may_act_for(prefix)?;
            }
        }
        query.visible = Some(visible.iter().cloned().collect());
    }
    let ledger = state.ledger()?;
    ledger.tenants(&query).await.map_err(ApiError::LedgerUnavailable)
}
