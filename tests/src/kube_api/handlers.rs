//! The one HTTP entry point: record the request, fail it if a fault is armed, otherwise
//! route it to discovery, list, watch or an object operation.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::discovery;
use super::objects::{self, ObjectRequest};
use super::registry::ResourceKind;
use super::requests::{ApiRequest, QueryParams, RecordedRequest};
use super::routes::{self, Route};
use super::selectors::Selector;
use super::shared::Shared;
use super::status::ApiError;
use super::watch::{self, WatchRequest};

pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header_value =
        |name| headers.get(name).and_then(|v: &header::HeaderValue| v.to_str().ok()).map(str::to_string);
    let raw_query = uri.query().unwrap_or_default().to_string();
    let request = ApiRequest {
        method,
        path: uri.path().to_string(),
        query: QueryParams::parse(&raw_query),
        content_type: header_value(header::CONTENT_TYPE),
        accept: header_value(header::ACCEPT),
        body: parse_body(&body),
    };
    let target =
        if raw_query.is_empty() { request.path.clone() } else { format!("{}?{raw_query}", request.path) };
    let injected = shared.faults().take(request.method.as_str(), &target);
    let response = match injected {
        Some(code) => {
            ApiError::new(code, format!("failure injected by the test fixture ({code})")).into_response()
        }
        None => serve(&shared, &request).unwrap_or_else(IntoResponse::into_response),
    };
    shared.record(RecordedRequest {
        method: request.method.to_string(),
        path: request.path,
        query: raw_query,
        content_type: request.content_type,
        body: request.body.ok().flatten(),
        status: response.status().as_u16(),
    });
    response
}

fn serve(shared: &Arc<Shared>, request: &ApiRequest) -> Result<Response, ApiError> {
    let route = routes::parse(&request.path, &shared.registry()).ok_or_else(ApiError::no_route)?;
    let aggregated = discovery::wants_aggregated(request.accept.as_deref());
    match (route, request.method.clone()) {
        (Route::Version, Method::GET) => Ok(json_response(StatusCode::OK, &discovery::version())),
        (Route::Health, Method::GET) => Ok("ok".into_response()),
        (Route::CoreVersions, Method::GET) if aggregated => {
            Ok(aggregated_response(&discovery::aggregated(&shared.registry(), true)))
        }
        (Route::CoreVersions, Method::GET) => {
            Ok(json_response(StatusCode::OK, &discovery::core_versions(&shared.server_address)))
        }
        (Route::Groups, Method::GET) if aggregated => {
            Ok(aggregated_response(&discovery::aggregated(&shared.registry(), false)))
        }
        (Route::Groups, Method::GET) => {
            Ok(json_response(StatusCode::OK, &discovery::groups(&shared.registry())))
        }
        (Route::Resources { group, version }, Method::GET) => {
            Ok(json_response(StatusCode::OK, &discovery::resources(&shared.registry(), &group, &version)))
        }
        (Route::Collection { kind, namespace }, Method::GET) if request.query.flag("watch") => {
            start_watch(shared, request, kind, namespace)
        }
        (Route::Collection { kind, namespace }, Method::GET) => {
            let selector = selector(request)?;
            Ok(json_response(StatusCode::OK, &objects::list(shared, &kind, namespace.as_deref(), &selector)))
        }
        (Route::Collection { kind, namespace }, Method::DELETE) => {
            let selector = selector(request)?;
            Ok(json_response(
                StatusCode::OK,
                &objects::delete_collection(shared, &kind, namespace.as_deref(), &selector),
            ))
        }
        (Route::Collection { kind, namespace: Some(namespace) }, Method::POST) => {
            let (code, object) = objects::create(shared, request, &kind, &namespace)?;
            Ok(json_response(code, &object))
        }
        (Route::Collection { kind, namespace: None }, Method::POST) if !kind.namespaced => {
            let (code, object) = objects::create(shared, request, &kind, "")?;
            Ok(json_response(code, &object))
        }
        (Route::Object { kind, namespace, name, subresource }, method) => {
            let target = ObjectRequest { kind, namespace, name, subresource };
            let (code, object) = match method {
                Method::GET => objects::get(shared, &target)?,
                Method::PUT => objects::replace(shared, request, &target)?,
                Method::PATCH => objects::patch(shared, request, &target)?,
                Method::DELETE => objects::delete(shared, request, &target)?,
                other => return Err(method_not_allowed(&other)),
            };
            Ok(json_response(code, &object))
        }
        (_, method) => Err(method_not_allowed(&method)),
    }
}

fn start_watch(
    shared: &Arc<Shared>,
    request: &ApiRequest,
    kind: ResourceKind,
    namespace: Option<String>,
) -> Result<Response, ApiError> {
    let since = match request.query.get("resourceVersion") {
        None | Some("" | "0") => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?,
        ),
    };
    let timeout = match request.query.get("timeoutSeconds") {
        None => None,
        Some(s) => Some(Duration::from_secs(
            s.parse().map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds {s:?}")))?,
        )),
    };
    let watch = WatchRequest {
        kind,
        namespace,
        selector: selector(request)?,
        since,
        bookmarks: request.query.flag("allowWatchBookmarks"),
        send_initial_events: request.query.flag("sendInitialEvents"),
        timeout,
    };
    let body = Body::from_stream(watch::stream(shared.clone(), watch));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn selector(request: &ApiRequest) -> Result<Selector, ApiError> {
    Selector::parse(request.query.get("labelSelector"), request.query.get("fieldSelector"))
        .map_err(ApiError::bad_request)
}

/// JSON, or YAML (an apply body may be either); `None` when empty.
fn parse_body(body: &[u8]) -> Result<Option<Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .or_else(|_| serde_yaml::from_slice(body))
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("the body is neither JSON nor YAML: {e}")))
}

fn method_not_allowed(method: &Method) -> ApiError {
    ApiError::new(405, format!("the server does not allow this method on the requested resource: {method}"))
}

fn json_response(code: StatusCode, body: &Value) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn aggregated_response(body: &Value) -> Response {
    ([(header::CONTENT_TYPE, discovery::AGGREGATED_CONTENT_TYPE)], body.to_string()).into_response()
}
