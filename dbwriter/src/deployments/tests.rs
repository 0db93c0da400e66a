use chrono::TimeZone;
use serde_json::json;

use super::*;

fn event(status: Status, second: u32, id: &str) -> HistoryEvent {
    of_kind(Kind::Sets(status), second, id)
}

/// A `superseded` of the deployment, naming another product and environment than its cycle:
/// neither may leak into the state.
fn superseded(second: u32, id: &str) -> HistoryEvent {
    let mut e = of_kind(Kind::Superseded, second, id);
    e.product = Some("product-from-superseded".into());
    e.environment = Some("environment-from-superseded".into());
    e
}

fn of_kind(kind: Kind, second: u32, id: &str) -> HistoryEvent {
    HistoryEvent {
        kind,
        at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second).unwrap(),
        message_id: id.into(),
        trace_id: Uuid::nil(),
        event_type: format!("mycompany.x.event.c.{}", kind.as_str()),
        client: "c".into(),
        product: Some("product-a".into()),
        environment: None,
    }
}

/// Calls `check` with every order of `events` (Heap's algorithm).
fn for_every_order(events: Vec<HistoryEvent>, check: &mut impl FnMut(&[HistoryEvent])) {
    fn permute(k: usize, items: &mut Vec<HistoryEvent>, check: &mut impl FnMut(&[HistoryEvent])) {
        if k <= 1 {
            check(items);
            return;
        }
        for i in 0..k {
            permute(k - 1, items, check);
            let j = if k % 2 == 0 { i } else { 0 };
            items.swap(j, k - 1);
        }
    }
    let mut items = events;
    let n = items.len();
    permute(n, &mut items, check);
}

/// Every order of `events` ends in the status of `expected_id`.
fn assert_every_order_ends_at(events: Vec<HistoryEvent>, expected_id: &str) {
    for_every_order(events, &mut |items| {
        let winner = &current(items).unwrap().winner.message_id;
        assert_eq!(winner, expected_id, "order {items:?}");
    });
}

/// Everything `current` decides, owned, so two histories can be compared.
type State = (Status, String, Option<DateTime<Utc>>, Option<String>, Option<String>);

fn state(history: &[HistoryEvent]) -> Option<State> {
    current(history).map(|c| {
        (
            c.status,
            c.winner.message_id.clone(),
            c.cycle_started_at,
            c.product.map(str::to_owned),
            c.environment.map(str::to_owned),
        )
    })
}

/// `events` with `superseded` mixed in, in every order, decide exactly what `events` alone do.
fn assert_superseded_changes_nothing(events: Vec<HistoryEvent>, superseded: Vec<HistoryEvent>) {
    let without = state(&events);
    assert!(without.is_some(), "the scenario sets a status");
    let mut with = events;
    with.extend(superseded);
    for_every_order(with, &mut |items| {
        assert_eq!(state(items), without, "order {items:?}");
    });
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
    assert_eq!(current(&events[..2]).unwrap().status, Status::Provisioning);
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
    assert_eq!(state.status, Status::Deprovisioned);
    assert_eq!(state.product, Some("product-a"));
    assert_eq!(state.environment, Some("production"));
}

#[test]
fn superseded_before_between_or_after_the_other_events_changes_nothing() {
    // Before the cycle, at the winner's second with a message id that sorts above every other,
    // and after everything: in every arrival order the state is what it is without them.
    let around = |winner_second| {
        vec![superseded(0, "s-before"), superseded(winner_second, "zzz-tie"), superseded(59, "s-after")]
    };
    let provisioned = vec![
        event(Status::Published, 1, "p"),
        event(Status::Provisioning, 2, "ing"),
        event(Status::Provisioned, 3, "ed"),
    ];
    assert_superseded_changes_nothing(provisioned, around(3));
    let failed = vec![event(Status::Published, 1, "p"), event(Status::Failed, 2, "f")];
    assert_superseded_changes_nothing(failed, around(2));
    let published_only = vec![event(Status::Published, 1, "p")];
    assert_superseded_changes_nothing(published_only, around(1));
    let deprovisioned = vec![
        event(Status::Published, 1, "p"),
        event(Status::Provisioned, 2, "ed"),
        event(Status::Cancelled, 3, "c"),
        event(Status::Deprovisioned, 4, "d"),
    ];
    assert_superseded_changes_nothing(deprovisioned, around(4));
    // A re-purchase: a superseded between the two cycles must not start or end one.
    let repurchased = vec![
        event(Status::Published, 1, "p1"),
        event(Status::Cancelled, 2, "c"),
        event(Status::Deprovisioned, 3, "d"),
        event(Status::Published, 5, "p2"),
        event(Status::Provisioning, 6, "ing2"),
    ];
    assert_superseded_changes_nothing(
        repurchased,
        vec![superseded(4, "s-between"), superseded(7, "s-after")],
    );
}

#[test]
fn the_stale_orders_the_provisioner_superseded_leave_the_newer_orders_state() {
    // A purchase replayed late (older than the one that won) and its superseded.
    let provisioned = vec![
        event(Status::Published, 10, "p"),
        event(Status::Provisioning, 11, "ing"),
        event(Status::Provisioned, 12, "ed"),
    ];
    let mut late = provisioned.clone();
    late.extend([event(Status::Published, 5, "p-stale"), superseded(13, "s")]);
    assert_every_order_ends_at(late.clone(), "ed");
    assert_eq!(state(&late), state(&provisioned));
    assert_eq!(current(&late).unwrap().cycle_started_at, Some(provisioned[0].at));
    // A cancellation older than the one that won, and its superseded.
    let cancelled = vec![
        event(Status::Published, 10, "p"),
        event(Status::Provisioned, 12, "ed"),
        event(Status::Cancelled, 13, "c"),
        event(Status::Deprovisioned, 14, "d"),
    ];
    let mut late = cancelled.clone();
    late.extend([event(Status::Cancelled, 11, "c-stale"), superseded(15, "s")]);
    assert_every_order_ends_at(late, "d");
}

#[test]
fn superseded_alone_makes_no_deployment() {
    assert_eq!(current(&[]), None);
    assert_eq!(current(&[superseded(3, "s1")]), None);
    for_every_order(vec![superseded(1, "s1"), superseded(2, "s2"), superseded(2, "s3")], &mut |items| {
        assert_eq!(current(items), None, "order {items:?}");
    });
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
    let superseded = envelope(
        "provisioner",
        "superseded",
        json!({"client": "cliente02", "namespace": "ns1", "product": "product-a", "release": "r",
               "order_id": "m-old", "newer_order_id": "m-new", "newer_desired": "absent"}),
    );
    assert_eq!(key_of(&superseded), key("ns1", "r"));
}

#[test]
fn superseded_is_a_deployment_event_that_sets_no_status() {
    assert_eq!(Kind::from_action("superseded"), Some(Kind::Superseded));
    assert_eq!(Kind::Superseded.status(), None);
    assert_eq!(Kind::from_action("provisioned"), Some(Kind::Sets(Status::Provisioned)));
    assert_eq!(Kind::from_action("started"), None);
    assert_eq!(Status::from_action("superseded"), None, "superseded is no status");
}

#[test]
fn events_that_do_not_drive_a_deployment_have_no_key() {
    assert_eq!(key_of(&envelope("k8s-event-exporter", "started", json!({"product": "p"}))), None);
    assert_eq!(key_of(&envelope("mailer", "failed", json!({"product": "p"}))), None);
    assert_eq!(key_of(&envelope("mailer", "superseded", json!({"product": "p"}))), None);
    assert_eq!(key_of(&envelope("producer", "published", json!({"client": "c"}))), None);
}
