//! The status page of one order: the steps (accepted → provisioning → provisioned/failed) and
//! the events of its trace, rendered from the cache and kept live by `portal.js` over SSE.

use std::sync::Arc;

use uuid::Uuid;

use super::page::{escape, layout};
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

/// The page for `trace_id` with the events seen so far.
pub fn render(trace_id: Uuid, entries: &[Arc<TimelineEntry>]) -> String {
    let state = progress(entries.iter().map(|e| e.action.as_str()));
    let events: String = entries.iter().map(|e| event_item(e)).collect();
    let main = format!(
        r#"<h1>Order status</h1>
<p class="trace">Trace <code>{trace_id}</code></p>
<ol class="steps" id="steps" data-state="{state}">
<li data-step="accepted">Accepted</li>
<li data-step="provisioning">Provisioning</li>
<li data-step="done">Provisioned</li>
</ol>
<p class="status">Status: <strong id="status" data-trace-id="{trace_id}" aria-live="polite">{state}</strong></p>
<h2>Events</h2>
<ul class="events" id="events">{events}</ul>
<p class="live" id="live">Connecting to the live status…</p>
<p><a href="/">Place another order</a></p>"#
    );
    layout("Order status", &main)
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
    }
}
