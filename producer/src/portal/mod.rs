//! The client portal: the purchase form (`GET /`, `POST /`), the live status page of an order
//! (`GET /orders/{trace_id}`), the tenants page (`GET /tenants`, live from `GET /tenants/live`)
//! and the static files they use, plus the OpenID Connect sign-in routes. Server-rendered, no
//! CDN. Every state-changing request must come from the portal's own pages
//! ([`auth::csrf`]); a buyer orders and watches only for its own clients.

mod form;
pub mod page;
mod status;
mod tenants;

pub use status::progress;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::api;
use crate::auth::identity::Identity;
use crate::auth::{self, csrf, Auth};
use crate::error::ApiError;
use crate::order::Order;
use crate::state::AppState;
use form::FormView;

const CSS: &str = include_str!("../../assets/portal.css");
const JS: &str = include_str!("../../assets/portal.js");
const TENANTS_JS: &str = include_str!("../../assets/tenants.js");

/// Pages behind the portal login, and the sign-in routes, all refusing cross-site requests
/// that change anything; the static files stay open (they hold nothing secret).
pub fn router(auth: Auth) -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(show_form).post(submit))
        .route("/orders/{trace_id}", get(show_status))
        .route("/tenants", get(tenants::show))
        .route("/tenants/live", get(tenants::live))
        .route_layer(from_fn_with_state(auth.clone(), auth::require_portal))
        .merge(auth::oidc::login::routes(auth.clone()))
        .route_layer(from_fn_with_state(auth, csrf::refuse_cross_site));
    pages
        .route("/assets/portal.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/assets/portal.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .route("/assets/tenants.js", get(|| async { asset("text/javascript; charset=utf-8", TENANTS_JS) }))
}

async fn show_form(State(state): State<AppState>, Extension(viewer): Extension<Identity>) -> Html<String> {
    Html(form::render(&state.catalog, &FormView::default(), Some(&viewer)))
}

async fn submit(
    State(state): State<AppState>,
    Extension(viewer): Extension<Identity>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !api::has_content_type(&headers, "application/x-www-form-urlencoded") {
        return ApiError::UnsupportedMediaType { expected: "application/x-www-form-urlencoded" }
            .into_response();
    }
    let bytes = match api::body_bytes(body) {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    let mut view = FormView::default();
    let mut fields = Map::new();
    let mut token = None;
    for (key, value) in url::form_urlencoded::parse(&bytes) {
        if key == csrf::FORM_FIELD {
            token = Some(value.into_owned());
            continue;
        }
        view.values.insert(key.to_string(), value.to_string());
        fields.insert(key.into_owned(), Value::String(value.into_owned()));
    }
    if let Some(expected) = &viewer.csrf {
        if !csrf::token_matches(expected, token.as_deref()) {
            tracing::warn!(identity = %viewer.name, "order refused: the form's CSRF token is not the session's");
            return (
                StatusCode::FORBIDDEN,
                "Order refused: the form is not from this session; reload the page.\n",
            )
                .into_response();
        }
    }
    let order = match Order::from_fields(&fields, &state.catalog) {
        Ok(order) => order,
        Err(errors) => {
            view.errors = errors;
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(form::render(&state.catalog, &view, Some(&viewer))),
            )
                .into_response();
        }
    };
    if let Err(refused) = viewer.may_act_for(order.client.as_str()) {
        view.errors = vec![crate::error::FieldError::new("client", refused.to_string())];
        return (StatusCode::FORBIDDEN, Html(form::render(&state.catalog, &view, Some(&viewer))))
            .into_response();
    }
    let published = match order.envelope(&state.publishing) {
        Ok(envelope) => state.publish(&envelope).await,
        Err(e) => Err(ApiError::Internal(e.to_string())),
    };
    match published {
        Ok(accepted) => Redirect::to(&format!("/orders/{}", accepted.trace_id)).into_response(),
        Err(e) => {
            let status = e.status();
            view.notice = Some(match e {
                ApiError::Unavailable(_) => {
                    "Your order could not be placed right now (the message broker did not \
                                             confirm it). Nothing was ordered; please try again in a moment."
                        .into()
                }
                _ => "Your order could not be placed because of an internal error.".into(),
            });
            (status, Html(form::render(&state.catalog, &view, Some(&viewer)))).into_response()
        }
    }
}

async fn show_status(
    State(state): State<AppState>,
    Extension(viewer): Extension<Identity>,
    Path(trace_id): Path<String>,
) -> Response {
    let not_found = |status, text: &str| {
        (status, Html(page::layout("Not found", &format!("<h1>{text}</h1>"), Some(&viewer)))).into_response()
    };
    let Ok(id) = Uuid::parse_str(&trace_id) else { return not_found(StatusCode::NOT_FOUND, "No such order") };
    match state.timeline_for(id, &viewer).await {
        Ok(timeline) => Html(status::render(id, &timeline, Some(&viewer))).into_response(),
        Err(_) => not_found(StatusCode::FORBIDDEN, "This order is not one of your clients&#39;"),
    }
}

fn asset(content_type: &'static str, text: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=300")], text)
}
