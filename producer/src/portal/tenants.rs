//! The tenants page (`GET /tenants`, DESIGN.md §10): every tenant the ledger knows, filtered
//! by client prefix and status, a page at a time, each row linking to its trace's timeline;
//! `tenants.js` keeps the rows live from `GET /tenants/live`, a stream of [`TenantChange`]s
//! across tenants. A buyer sees only its clients' tenants, on the page and in the stream.

use std::convert::Infallible;

use axum::extract::{RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use futures_util::future::ready;
use futures_util::stream::{Stream, StreamExt};

use super::page::{escape, wide_layout};
use crate::api::tenants::page;
use crate::auth::identity::Identity;
use crate::feed::{live, TenantChange};
use crate::ledger::tenants::STATUSES;
use crate::ledger::{Tenant, TenantPage, TenantQuery};
use crate::state::AppState;

/// The page, or the API's JSON refusal (400 naming the parameter, 503 without a ledger). The
/// filter form sends its empty fields ("any status"), which the page reads as absent.
pub async fn show(
    State(state): State<AppState>,
    Extension(viewer): Extension<Identity>,
    RawQuery(raw): RawQuery,
) -> Response {
    let raw = raw.map(|raw| {
        let given = url::form_urlencoded::parse(raw.as_bytes()).filter(|(_, value)| !value.is_empty());
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(given).finish()
    });
    match page(&state, raw.as_deref(), &viewer).await {
        Ok(found) => {
            let query = TenantQuery::from_query(raw.as_deref()).unwrap_or_default();
            Html(render(&query, &found, Some(&viewer))).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Every tenant change seen from now on, until the producer stops; a page that falls behind
/// misses some changes, which a reload reads from the ledger.
pub async fn live(
    State(state): State<AppState>,
    Extension(viewer): Extension<Identity>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let grant = viewer.grant;
    let changes =
        live::entries(state.cache.subscribe(), state.stopping.clone(), "tenants").filter_map(move |entry| {
            let change = TenantChange::from_entry(&entry).filter(|change| grant.covers(&change.client));
            ready(change.map(|change| {
                let data = serde_json::to_string(&change).expect("a tenant change serializes");
                Ok(Event::default().id(entry.message_id.as_str()).data(data))
            }))
        });
    Sse::new(changes).keep_alive(KeepAlive::default())
}

/// The page for `query` showing `found` to `viewer`.
pub fn render(query: &TenantQuery, found: &TenantPage, viewer: Option<&Identity>) -> String {
    let client = escape(query.client.as_deref().unwrap_or_default());
    let options: String = std::iter::once(("", "any status"))
        .chain(STATUSES.iter().map(|s| (*s, *s)))
        .map(|(value, label)| {
            let selected = if query.status.unwrap_or_default() == value { " selected" } else { "" };
            format!(r#"<option value="{value}"{selected}>{label}</option>"#)
        })
        .collect();
    let rows: String = found.tenants.iter().map(row).collect();
    let empty = if found.tenants.is_empty() {
        r#"<p class="hint" id="no-tenants">No tenant matches.</p>"#
    } else {
        ""
    };
    let next = match &found.next_cursor {
        Some(cursor) => {
            format!(
                r#"<a id="next-page" href="/tenants?{}">Next page →</a>"#,
                escape(&query.next_page(cursor))
            )
        }
        None => String::new(),
    };
    let first = if query.after.is_some() {
        r#"<a id="first-page" href="/tenants">← First page</a>"#
    } else {
        "<span></span>"
    };
    let main = format!(
        r#"<h1>Tenants</h1>
<form class="filters" method="get" action="/tenants" id="filters">
<div class="field"><label for="client-filter">Client starts with</label><input id="client-filter" name="client" value="{client}" pattern="[a-z0-9-]{{1,63}}" autocomplete="off"></div>
<div class="field"><label for="status-filter">Status</label><select id="status-filter" name="status">{options}</select></div>
<button type="submit" id="filter">Filter</button>
</form>
<table class="tenants" id="tenants">
<thead><tr><th>Client</th><th>Namespace</th><th>Product</th><th>Environment</th><th>Hardware</th><th>Status</th><th>Last change</th><th>Trace</th></tr></thead>
<tbody>{rows}</tbody>
</table>
{empty}
<nav class="pager">{first}{next}</nav>
<p class="live" id="live">Connecting to live updates…</p>"#
    );
    wide_layout("Tenants", &main, viewer)
}

/// A row; `data-key` is how `tenants.js` finds it for a change.
fn row(t: &Tenant) -> String {
    let text = |v: &Option<String>| escape(v.as_deref().unwrap_or("—"));
    let time = t.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let shown = t.updated_at.format("%Y-%m-%d %H:%M:%S UTC");
    format!(
        r#"<tr data-key="{namespace}/{release}" data-client="{client}" data-status="{status}" data-time="{time}"><td data-label="Client">{client}</td><td data-label="Namespace">{namespace}</td><td data-label="Product">{product}</td><td data-label="Environment">{environment}</td><td data-label="Hardware">{hardware}</td><td data-label="Status"><span class="badge" data-status="{status}">{status}</span></td><td data-label="Last change"><time datetime="{time}">{shown}</time></td><td data-label="Trace"><a class="trace" href="/orders/{trace}">{short}</a></td></tr>"#,
        namespace = escape(&t.namespace),
        release = escape(&t.release),
        client = escape(&t.client),
        status = escape(&t.status),
        product = text(&t.product),
        environment = text(&t.environment),
        hardware = text(&t.hardware),
        trace = t.trace_id,
        short = &t.trace_id.to_string()[..8],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn tenant(client: &str) -> Tenant {
        Tenant {
            client: client.into(),
            namespace: client.into(),
            release: "product-a".into(),
            product: Some("product-a".into()),
            environment: None,
            hardware: Some("dedicated".into()),
            status: "provisioned".into(),
            trace_id: uuid::Uuid::nil(),
            updated_at: chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        }
    }

    #[test]
    fn the_page_lists_rows_escaped_keeps_the_filters_and_links_the_next_page() {
        let query = TenantQuery::from_query(Some("client=ac&status=provisioned")).unwrap();
        let found = TenantPage {
            tenants: vec![tenant("acme"), tenant("ac<b>")],
            next_cursor: Some("ac/ac/x".into()),
        };
        let page = render(&query, &found, None);
        assert!(page.contains(r#"<tr data-key="acme/product-a""#), "{page}");
        assert!(page.contains(r#"<span class="badge" data-status="provisioned">provisioned</span>"#));
        assert!(page.contains("<td data-label=\"Environment\">—</td>"));
        assert!(page.contains("ac&lt;b&gt;") && !page.contains("ac<b>"), "escaped");
        assert!(page.contains(r#"<option value="provisioned" selected>"#));
        assert!(page.contains(r#"value="ac""#));
        assert!(
            page.contains(r#"href="/tenants?client=ac&amp;status=provisioned&amp;cursor=ac%2Fac%2Fx""#),
            "{page}"
        );
        assert!(page.contains(r#"href="/orders/00000000-0000-0000-0000-000000000000""#));
    }
}
