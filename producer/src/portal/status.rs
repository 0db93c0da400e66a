//! The status page of one order: the steps (accepted → provisioning → provisioned/failed) and
//! the events of its trace, rendered from the cache and kept live by `portal.js` over SSE.
//! An order the provisioner found stale (`superseded`, DESIGN.md §8) says so in its status and
//! names the newer order that won; its steps and events read as they would without it.

use std::sync::Arc;

use uuid::Uuid;

use super::page::{escape, layout};
use crate::auth::identity::Identity;
use crate::feed::TimelineEntry;

/// Where an order stands, from the actions seen in its trace: never moves backwards, and
/// the same rules run in `portal.js` for live updates.
pub fn progress<'a>(actions: impl IntoIterator<Item = &'a str>) -> &'static str {
    let mut state = ("waiting", 0);
    for action in actions {
        let next = match action {
            "published" => ("accepted", 1),
            "provisioning" => ("provisioning", 2),
            "provisioned" => ("provisioned", 3),
            "failed" => ("failed", 3),
            "cancelled" => ("cancelled", 4),
            "deprovisioned" => ("deprovisioned", 5),
            _ => continue,
        };
        if next.1 > state.1 {
            state = next;
        }
    }
    state.0
}

/// The `superseded` of the trace, if the provisioner sent one: the last seen (a stale order
/// stays stale; a later one names a winner at least as new). `portal.js` keeps the same one.
pub fn superseded(entries: &[Arc<TimelineEntry>]) -> Option<&TimelineEntry> {
    entries.iter().rev().map(|e| &**e).find(|e| e.action == "superseded")
}

/// What the status line says: `superseded` once the order is known to have changed nothing,
/// else the [`progress`] (which the steps show in either case).
pub fn status(entries: &[Arc<TimelineEntry>]) -> &'static str {
    match superseded(entries) {
        Some(_) => "superseded",
        None => progress(entries.iter().map(|e| e.action.as_str())),
    }
}

/// The page for `trace_id` with the events seen so far, for `viewer`.
pub fn render(trace_id: Uuid, entries: &[Arc<TimelineEntry>], viewer: Option<&Identity>) -> String {
    let state = progress(entries.iter().map(|e| e.action.as_str()));
    let status = status(entries);
    let notice = superseded_notice(superseded(entries));
    let events: String = entries.iter().map(|e| event_item(e)).collect();
    let main = format!(
        r#"<h1>Order status</h1>
<p class="trace">Trace <code>{trace_id}</code></p>
<ol class="steps" id="steps" data-state="{state}">
<li data-step="accepted">Accepted</li>
<li data-step="provisioning">Provisioning</li>
<li data-step="done">Provisioned</li>
</ol>
<p class="status">Status: <strong id="status" data-trace-id="{trace_id}" data-state="{status}" aria-live="polite">{status}</strong></p>
{notice}
<h2>Events</h2>
<ul class="events" id="events">{events}</ul>
<p class="live" id="live">Connecting to the live status…</p>
<p><a href="/">Place another order</a></p>"#
    );
    layout("Order status", &main, viewer)
}

/// Why a superseded order did nothing and which order won; rendered hidden and empty for any
/// other order, so `portal.js` can fill it in when a `superseded` arrives live.
fn superseded_notice(entry: Option<&TimelineEntry>) -> String {
    let field = |key: &str| {
        let value = entry.and_then(|e| e.fields.get(key)).and_then(|v| v.as_str()).unwrap_or_default();
        escape(value)
    };
    format!(
        r#"<p class="superseded" id="superseded"{hidden}>This order changed nothing: a newer order for the same product won. Newer order <code id="newer-order-id">{id}</code> of <time id="newer-order-time">{time}</time> wants it <strong id="newer-desired">{desired}</strong>.</p>"#,
        hidden = if entry.is_some() { "" } else { " hidden" },
        id = field("newer_order_id"),
        time = field("newer_order_time"),
        desired = field("newer_desired"),
    )
}

fn event_item(e: &TimelineEntry) -> String {
    let detail: Vec<String> = e
        .fields
        .iter()
        .filter(|(k, _)| {
            matches!(k.as_str(), "error" | "reason" | "message" | "namespace" | "release" | "type")
        })
        .map(|(k, v)| format!("{k}: {}", v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
        .collect();
    format!(
        r#"<li data-id="{id}" data-action="{action}"><time>{time}</time> <b>{action}</b> <span class="app">{app}</span> <span class="detail">{detail}</span></li>"#,
        id = escape(&e.message_id),
        action = escape(&e.action),
        time = escape(&e.time),
        app = escape(&e.app),
        detail = escape(&detail.join(" · ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_follows_the_furthest_step_whatever_the_arrival_order() {
        assert_eq!(progress([]), "waiting");
        assert_eq!(progress(["published"]), "accepted");
        assert_eq!(progress(["published", "scheduled", "provisioning"]), "provisioning");
        assert_eq!(progress(["provisioned", "provisioning", "published", "pulled"]), "provisioned");
        assert_eq!(progress(["published", "provisioning", "failed"]), "failed");
        assert_eq!(progress(["published", "superseded"]), "accepted", "superseded is no step");
    }

    fn entry(action: &str, message_id: &str, fields: serde_json::Value) -> Arc<TimelineEntry> {
        Arc::new(TimelineEntry {
            trace_id: Uuid::nil(),
            event_type: format!("mycompany.provisioner.event.c1.{action}"),
            action: action.into(),
            app: "provisioner".into(),
            time: "2026-01-01T00:00:00Z".into(),
            message_id: message_id.into(),
            retrace_intent: 0,
            fields: fields.as_object().unwrap().clone(),
        })
    }

    fn superseded_by(newer_order_id: &str, desired: &str) -> Arc<TimelineEntry> {
        let fields = serde_json::json!({"order_id": "m-stale", "order_time": "2026-01-01T00:00:00Z",
            "newer_order_id": newer_order_id, "newer_order_time": "2026-01-01T00:00:09.123456789Z",
            "newer_desired": desired});
        entry("superseded", &format!("s-{newer_order_id}"), fields)
    }

    #[test]
    fn the_status_says_superseded_whatever_the_arrival_order_and_the_last_one_names_the_winner() {
        let published = entry("published", "m-stale", serde_json::json!({}));
        assert_eq!(status(std::slice::from_ref(&published)), "accepted");
        assert_eq!(superseded(std::slice::from_ref(&published)), None);
        let first = superseded_by("m-newer", "present");
        for entries in [vec![published.clone(), first.clone()], vec![first.clone(), published.clone()]] {
            assert_eq!(status(&entries), "superseded");
            assert_eq!(superseded(&entries), Some(&*first));
        }
        let later = superseded_by("m-newest", "absent");
        assert_eq!(superseded(&[published, first, later.clone()]), Some(&*later));
    }

    #[test]
    fn a_superseded_page_names_the_newer_order_and_keeps_its_steps() {
        let entries =
            [entry("published", "m-stale", serde_json::json!({})), superseded_by("<m&newer>", "absent")];
        let page = render(Uuid::nil(), &entries, None);
        assert!(
            page.contains(r#"data-state="accepted">"#),
            "the steps still show the order accepted: {page}"
        );
        assert!(page.contains(r#"data-state="superseded" aria-live="polite">superseded</strong>"#), "{page}");
        assert!(page.contains(r#"<p class="superseded" id="superseded">"#), "the notice is shown: {page}");
        assert!(page.contains(r#"<code id="newer-order-id">&lt;m&amp;newer&gt;</code>"#), "escaped: {page}");
        assert!(page.contains(r#"<time id="newer-order-time">2026-01-01T00:00:09.123456789Z</time>"#));
        assert!(page.contains(r#"<strong id="newer-desired">absent</strong>"#));
        assert_eq!(page.matches("<li data-id=").count(), 2, "both events are listed");

        let page = render(Uuid::nil(), &entries[..1], None);
        assert!(page.contains(r#"<p class="superseded" id="superseded" hidden>"#), "no notice: {page}");
        assert!(page.contains(r#"data-state="accepted" aria-live="polite">accepted</strong>"#), "{page}");
    }
}
