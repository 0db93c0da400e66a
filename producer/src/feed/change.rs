//! A tenant's change as the tenants page follows it live: a deployment event from the feed,
//! keyed as dbwriter keys it (namespace = the body's or the client, release = the body's or
//! the product). Provisional: the ledger decides the status, and a reload shows its verdict.

use serde::Serialize;
use uuid::Uuid;

use super::entry::TimelineEntry;

/// One deployment event: the page finds its row by `namespace`/`release`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantChange {
    pub client: String,
    pub namespace: String,
    pub release: String,
    /// The status it sets (its action).
    pub status: String,
    pub trace_id: Uuid,
    /// The event's time, RFC 3339 UTC.
    pub time: String,
}

impl TenantChange {
    /// The change an entry makes, if it is one of a deployment's status events (a `failed`
    /// counts only from the provisioner, as in dbwriter).
    pub fn from_entry(entry: &TimelineEntry) -> Option<TenantChange> {
        let sets = matches!(
            entry.action.as_str(),
            "published" | "provisioning" | "provisioned" | "cancelled" | "deprovisioned"
        ) || (entry.action == "failed" && entry.app == "provisioner");
        if !sets {
            return None;
        }
        let field = |key: &str| entry.fields.get(key).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
        let client = entry.client()?.to_owned();
        let release = field("release").or_else(|| field("product"))?.to_owned();
        let namespace = field("namespace").unwrap_or(&client).to_owned();
        Some(TenantChange {
            client,
            namespace,
            release,
            status: entry.action.clone(),
            trace_id: entry.trace_id,
            time: entry.time.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(app: &str, action: &str, fields: serde_json::Value) -> TimelineEntry {
        TimelineEntry {
            trace_id: Uuid::nil(),
            event_type: format!("mycompany.{app}.event.acme.{action}"),
            action: action.into(),
            app: app.into(),
            time: "2026-01-01T00:00:00Z".into(),
            message_id: "m".into(),
            retrace_intent: 0,
            fields: fields.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn deployment_events_become_changes_keyed_as_dbwriter_keys_them() {
        let change = TenantChange::from_entry(&entry(
            "producer",
            "published",
            serde_json::json!({"product": "product-a"}),
        ))
        .unwrap();
        assert_eq!((change.namespace.as_str(), change.release.as_str()), ("acme", "product-a"));
        let change = TenantChange::from_entry(&entry(
            "provisioner",
            "failed",
            serde_json::json!({"namespace": "ns1", "release": "r1", "product": "product-a"}),
        ))
        .unwrap();
        assert_eq!(
            (change.namespace.as_str(), change.release.as_str(), change.status.as_str()),
            ("ns1", "r1", "failed")
        );
        let none = [
            entry("mailer", "failed", serde_json::json!({"product": "product-a"})),
            entry("provisioner", "superseded", serde_json::json!({"product": "product-a"})),
            entry("k8s-event-exporter", "scheduled", serde_json::json!({"namespace": "acme"})),
            entry("provisioner", "provisioned", serde_json::json!({})),
        ];
        for e in none {
            assert_eq!(TenantChange::from_entry(&e), None, "{}", e.event_type);
        }
    }
}
