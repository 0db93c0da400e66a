use chrono::TimeZone;
use serde_json::json;

use super::*;

fn event(status: Status, second: u32, id: &str) -> HistoryEvent {
    HistoryEvent {
        status,
        at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second).unwrap(),
        message_id: id.into(),
        trace_id: Uuid::nil(),
        event_type: format!("mycompany.x.event.c.{}", status.as_str()),
        client: "c".into(),
        product: Some("product-a".into()),
        environment: None,
    }
}

/// Every order of `events` (Heap's algorithm) ends in the status of `expected_id`.
fn assert_every_order_ends_at(events: Vec<HistoryEvent>, expected_id: &str) {
    fn permute(k: usize, items: &mut Vec<HistoryEvent>, expected_id: &str) {
        if k <= 1 {
            let winner = &current(items).unwrap().winner.message_id;
            assert_eq!(winner, expected_id, "order {items:?}");
            return;
        }
        for i in 0..k {
            permute(k - 1, items, expected_id);
            let j = if k % 2 == 0 { i } else { 0 };
            items.swap(j, k - 1);
        }
    }
    let mut items = events;
    let n = items.len();
    permute(n, &mut items, expected_id);
}

#[test]
fn a_provisioning_cycle_replayed_in_any_order_ends_provisioned() {
    let events = vec![
        event(Status::Published, 0, "p"),
        event(Status::Provisioning, 1, "ing"),
        event(Status::Provisioned, 2, "ed"),
        event(Status::Published, 0, "p"),
    ];
    assert_every_order_ends_at(events, "ed");
}

#[test]
fn rank_beats_time_inside_a_cycle_so_clock_skew_cannot_move_back() {
    // The provisioner's clock is a second behind the producer's.
    let events = vec![
        event(Status::Published, 10, "p"),
        event(Status::Provisioning, 10, "ing"),
        event(Status::Provisioned, 11, "ed"),
    ];
    assert_every_order_ends_at(events.clone(), "ed");
    assert_eq!(current(&events[..2]).unwrap().winner.status, Status::Provisioning);
}

#[test]
fn a_cancellation_in_any_order_ends_deprovisioned() {
    let events = vec![
        event(Status::Published, 0, "p"),
        event(Status::Provisioned, 2, "ed"),
        event(Status::Cancelled, 3, "c"),
        event(Status::Deprovisioned, 4, "d"),
    ];
    assert_every_order_ends_at(events, "d");
}

#[test]
fn a_purchase_newer_than_the_deprovisioning_starts_a_new_cycle() {
    let events = vec![
        event(Status::Published, 0, "p1"),
        event(Status::Provisioned, 2, "ed1"),
        event(Status::Cancelled, 3, "c"),
        event(Status::Deprovisioned, 4, "d"),
        event(Status::Published, 5, "p2"),
        event(Status::Provisioning, 6, "ing2"),
    ];
    assert_every_order_ends_at(events.clone(), "ing2");
    assert_every_order_ends_at(events[..5].to_vec(), "p2");
    let state = current(&events).unwrap();
    assert_eq!(state.cycle_started_at, Some(events[4].at));
}

#[test]
fn a_failure_is_final_for_its_cycle_until_a_cancellation() {
    let events = vec![
        event(Status::Published, 0, "p"),
        event(Status::Provisioning, 1, "ing"),
        event(Status::Failed, 2, "f"),
    ];
    assert_every_order_ends_at(events.clone(), "f");
    let mut with_cancel = events;
    with_cancel.push(event(Status::Cancelled, 3, "c"));
    assert_every_order_ends_at(with_cancel, "c");
}

#[test]
fn product_and_environment_come_from_the_newest_event_naming_them() {
    let mut p = event(Status::Published, 0, "p");
    p.environment = Some("production".into());
    let mut d = event(Status::Deprovisioned, 4, "d");
    d.product = None;
    let history = [p, d];
    let state = current(&history).unwrap();
    assert_eq!(state.winner.status, Status::Deprovisioned);
    assert_eq!(state.product, Some("product-a"));
    assert_eq!(state.environment, Some("production"));
}

fn envelope(app: &str, action: &str, body: serde_json::Value) -> Envelope {
    let event_type = eda_common::EventType::new("mycompany", app, "cliente02", action).unwrap();
    Envelope::new(event_type, Uuid::nil(), body.as_object().unwrap().clone())
}

#[test]
fn the_key_is_namespace_and_release_or_client_and_product() {
    let key = |ns: &str, rel: &str| Some(DeploymentKey { namespace: ns.into(), release: rel.into() });
    let provisioned = envelope("provisioner", "provisioned", json!({"namespace": "ns1", "release": "r"}));
    assert_eq!(key_of(&provisioned), key("ns1", "r"));
    let published = envelope("producer", "published", json!({"product": "product-a"}));
    assert_eq!(key_of(&published), key("cliente02", "product-a"));
    let failed = envelope("provisioner", "failed", json!({"namespace": "ns1", "product": "product-a"}));
    assert_eq!(key_of(&failed), key("ns1", "product-a"));
}

#[test]
fn events_that_do_not_drive_a_deployment_have_no_key() {
    assert_eq!(key_of(&envelope("k8s-event-exporter", "started", json!({"product": "p"}))), None);
    assert_eq!(key_of(&envelope("mailer", "failed", json!({"product": "p"}))), None);
    assert_eq!(key_of(&envelope("producer", "published", json!({"client": "c"}))), None);
}
