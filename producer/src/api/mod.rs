//! The HTTP API under `/api/v1`. Its routes are one table ([`routes`]) that builds the router
//! and that the OpenAPI test reads, so the document and the router cannot drift apart unseen.

mod body;
mod events;
mod orders;
pub mod tenants;
mod traces;

pub use body::{bytes as body_bytes, has_content_type, MAX_BODY_BYTES};

use axum::extract::State;
use axum::http::header;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post, MethodRouter};
use axum::Router;

use crate::auth::{self, Auth};
use crate::catalog::Catalog;
use crate::state::AppState;

/// The OpenAPI 3.1 document of this API, written by hand and kept true by a test.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// One route of the API.
pub struct ApiRoute {
    pub method: &'static str,
    pub path: &'static str,
    /// Needs a bearer token or the basic-auth login.
    pub guarded: bool,
    pub handler: MethodRouter<AppState>,
}

/// Every route the API serves.
pub fn routes() -> Vec<ApiRoute> {
    let route = |method, path, guarded, handler| ApiRoute { method, path, guarded, handler };
    vec![
        route("post", "/api/v1/orders", true, post(orders::create)),
        route("delete", "/api/v1/orders/{client}/{product}", true, delete(orders::cancel)),
        route("post", "/api/v1/events", true, post(events::publish)),
        route("get", "/api/v1/tenants", true, get(tenants::list)),
        route("get", "/api/v1/traces/{trace_id}", true, get(traces::timeline)),
        route("get", "/api/v1/traces/{trace_id}/events", true, get(traces::events)),
        route("get", "/api/v1/openapi.json", false, get(openapi)),
    ]
}

/// The API router, guarded routes behind the API auth; a write a browser says came from
/// another site is refused as on the portal (no CORS is served, so none is legitimate).
pub fn router(auth: Auth) -> Router<AppState> {
    let (mut guarded, mut open) = (Router::new(), Router::new());
    for r in routes() {
        if r.guarded {
            guarded = guarded.route(r.path, r.handler);
        } else {
            open = open.route(r.path, r.handler);
        }
    }
    guarded
        .route_layer(from_fn_with_state(auth.clone(), auth::require_api))
        .route_layer(from_fn_with_state(auth, auth::csrf::refuse_cross_site))
        .merge(open)
}

/// The document as served: the order's `environment`, `hardware` and `product` list this
/// installation's catalog, so a client (or schemathesis) knows which values it accepts.
async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], served_document(&state.catalog))
}

/// [`OPENAPI`] with the catalog's choices as enums of the `Order` schema.
pub fn served_document(catalog: &Catalog) -> String {
    let mut document: serde_json::Value =
        serde_json::from_str(OPENAPI).expect("the bundled document is JSON");
    let order = &mut document["components"]["schemas"]["Order"]["properties"];
    order["environment"]["enum"] = catalog.environments.clone().into();
    order["hardware"]["enum"] = catalog.hardware.clone().into();
    order["product"]["enum"] = catalog.products.keys().cloned().collect::<Vec<_>>().into();
    document.to_string()
}
