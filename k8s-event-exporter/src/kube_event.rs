//! One shape for a Kubernetes event, whichever API served it: `events.k8s.io/v1` (current)
//! or `core/v1` (older clusters). Everything after the watch works on [`KubeEvent`].

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Event as CoreEvent, ObjectReference};
use k8s_openapi::api::events::v1::Event as EventsV1Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;

/// The object an event is about (`regarding` / `involvedObject`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvolvedObject {
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub namespace: Option<String>,
}

/// A Kubernetes event with the fields the exporter publishes, decoded once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeEvent {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub involved: InvolvedObject,
    pub reason: String,
    pub message: String,
    /// `Normal` or `Warning`.
    pub event_type: String,
    /// How many times it happened: `series.count`, else the deprecated count, else 1.
    pub count: i64,
    pub first_time: Option<DateTime<Utc>>,
    pub last_time: Option<DateTime<Utc>>,
    pub reporting_controller: String,
    /// `metadata.resourceVersion`, as an integer when the API server's is one (etcd's are).
    pub resource_version: Option<u64>,
}

impl KubeEvent {
    /// When it last happened, or failing that, when the event object was created.
    pub fn last_seen(&self) -> Option<DateTime<Utc>> {
        self.last_time.or(self.first_time)
    }
}

impl From<&EventsV1Event> for KubeEvent {
    fn from(e: &EventsV1Event) -> Self {
        let series_count = e.series.as_ref().map(|s| i64::from(s.count));
        let series_last = e.series.as_ref().map(|s| chrono_of(&s.last_observed_time.0));
        let first = e
            .event_time
            .as_ref()
            .map(|t| chrono_of(&t.0))
            .or_else(|| e.deprecated_first_timestamp.as_ref().map(|t| chrono_of(&t.0)))
            .or_else(|| created(&e.metadata));
        let last =
            series_last.or_else(|| e.deprecated_last_timestamp.as_ref().map(|t| chrono_of(&t.0))).or(first);
        let controller = e
            .reporting_controller
            .clone()
            .or_else(|| e.deprecated_source.as_ref().and_then(|s| s.component.clone()));
        KubeEvent {
            involved: e.regarding.as_ref().map(involved).unwrap_or_default(),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.note.clone().unwrap_or_default(),
            event_type: e.type_.clone().unwrap_or_default(),
            count: series_count.or(e.deprecated_count.map(i64::from)).unwrap_or(1).max(1),
            first_time: first,
            last_time: last,
            reporting_controller: controller.unwrap_or_default(),
            ..from_meta(&e.metadata)
        }
    }
}

impl From<&CoreEvent> for KubeEvent {
    fn from(e: &CoreEvent) -> Self {
        let series_count = e.series.as_ref().and_then(|s| s.count).map(i64::from);
        let series_last =
            e.series.as_ref().and_then(|s| s.last_observed_time.as_ref()).map(|t| chrono_of(&t.0));
        // The same order as events.k8s.io/v1 (`eventTime`, then the first timestamp): both APIs
        // serve one stored object, and its first time leads the message id.
        let first = e
            .event_time
            .as_ref()
            .map(|t| chrono_of(&t.0))
            .or_else(|| e.first_timestamp.as_ref().map(|t| chrono_of(&t.0)))
            .or_else(|| created(&e.metadata));
        let last = series_last.or_else(|| e.last_timestamp.as_ref().map(|t| chrono_of(&t.0))).or(first);
        let controller = e
            .reporting_component
            .clone()
            .filter(|c| !c.is_empty())
            .or_else(|| e.source.as_ref().and_then(|s| s.component.clone()));
        KubeEvent {
            involved: involved(&e.involved_object),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
            event_type: e.type_.clone().unwrap_or_default(),
            count: series_count.or(e.count.map(i64::from)).unwrap_or(1).max(1),
            first_time: first,
            last_time: last,
            reporting_controller: controller.unwrap_or_default(),
            ..from_meta(&e.metadata)
        }
    }
}

fn from_meta(meta: &ObjectMeta) -> KubeEvent {
    KubeEvent {
        uid: meta.uid.clone().unwrap_or_default(),
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        resource_version: meta.resource_version.as_deref().and_then(|rv| rv.parse().ok()),
        ..KubeEvent::default()
    }
}

fn involved(r: &ObjectReference) -> InvolvedObject {
    InvolvedObject {
        kind: r.kind.clone().unwrap_or_default(),
        name: r.name.clone().unwrap_or_default(),
        uid: r.uid.clone().unwrap_or_default(),
        namespace: r.namespace.clone(),
    }
}

fn created(meta: &ObjectMeta) -> Option<DateTime<Utc>> {
    meta.creation_timestamp.as_ref().map(|t| chrono_of(&t.0))
}

fn chrono_of(t: &Timestamp) -> DateTime<Utc> {
    let nanos = u32::try_from(t.subsec_nanosecond()).unwrap_or(0);
    DateTime::from_timestamp(t.as_second(), nanos).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_events_v1_event_with_a_series_counts_the_series() {
        let e: EventsV1Event = serde_json::from_value(json!({
            "metadata": {"name": "p.1", "namespace": "c1", "uid": "u1", "resourceVersion": "42"},
            "eventTime": "2026-01-02T03:04:05.000006Z",
            "series": {"count": 3, "lastObservedTime": "2026-01-02T03:09:00.000000Z"},
            "deprecatedCount": 9,
            "regarding": {"kind": "Pod", "name": "p", "uid": "pu", "namespace": "c1"},
            "reason": "BackOff", "note": "Back-off restarting", "type": "Warning",
            "reportingController": "kubelet"
        }))
        .unwrap();
        let k = KubeEvent::from(&e);
        assert_eq!((k.uid.as_str(), k.namespace.as_str(), k.count), ("u1", "c1", 3));
        assert_eq!(k.resource_version, Some(42));
        assert_eq!(k.involved.kind, "Pod");
        assert_eq!(k.message, "Back-off restarting");
        assert_eq!(k.first_time.unwrap().to_rfc3339(), "2026-01-02T03:04:05.000006+00:00");
        assert_eq!(k.last_time.unwrap().to_rfc3339(), "2026-01-02T03:09:00+00:00");
        assert_eq!(k.reporting_controller, "kubelet");
    }

    #[test]
    fn a_core_event_uses_count_and_timestamps() {
        let e: CoreEvent = serde_json::from_value(json!({
            "metadata": {"name": "p.2", "namespace": "c2", "uid": "u2", "resourceVersion": "x7"},
            "involvedObject": {"kind": "Pod", "name": "p", "uid": "pu"},
            "reason": "Pulled", "message": "pulled", "type": "Normal", "count": 2,
            "firstTimestamp": "2026-01-02T03:04:05Z", "lastTimestamp": "2026-01-02T03:05:05Z",
            "source": {"component": "kubelet"}
        }))
        .unwrap();
        let k = KubeEvent::from(&e);
        assert_eq!(k.count, 2);
        assert_eq!(k.resource_version, None, "a non-numeric resourceVersion is not compared");
        assert_eq!(k.reporting_controller, "kubelet");
        assert!(k.first_time < k.last_time);
    }

    #[test]
    fn both_apis_give_one_stored_event_the_same_first_time() {
        // An object whose writer set both times, as each API serves it.
        let meta = json!({"name": "p.3", "namespace": "c3", "uid": "u3"});
        let core: CoreEvent = serde_json::from_value(json!({
            "metadata": meta, "involvedObject": {},
            "eventTime": "2026-01-02T03:04:05.250000Z", "firstTimestamp": "2026-01-02T03:04:04Z"
        }))
        .unwrap();
        let v1: EventsV1Event = serde_json::from_value(json!({
            "metadata": meta, "eventTime": "2026-01-02T03:04:05.250000Z",
            "deprecatedFirstTimestamp": "2026-01-02T03:04:04Z"
        }))
        .unwrap();
        let (core, v1) = (KubeEvent::from(&core), KubeEvent::from(&v1));
        assert_eq!(core.first_time.unwrap().to_rfc3339(), "2026-01-02T03:04:05.250+00:00");
        assert_eq!(core.first_time, v1.first_time);
        assert_eq!(crate::envelope::message_id(&core), crate::envelope::message_id(&v1));
    }

    #[test]
    fn an_event_without_times_or_count_falls_back_to_creation_and_one() {
        let e: CoreEvent = serde_json::from_value(json!({
            "metadata": {"name": "e", "namespace": "n", "creationTimestamp": "2026-01-02T00:00:00Z"},
            "involvedObject": {}
        }))
        .unwrap();
        let k = KubeEvent::from(&e);
        assert_eq!(k.count, 1);
        assert_eq!(k.last_seen().unwrap().to_rfc3339(), "2026-01-02T00:00:00+00:00");
    }
}
