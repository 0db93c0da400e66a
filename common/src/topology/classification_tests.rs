//! How each difference is classified, explained and fixed, without a broker.

use super::difference::*;
use super::plan::Role;
use super::policy::*;
use super::tolerant::from_refusal;
use super::{QueueType, ServiceQueue, Topology};
use crate::retry::RetryPolicy;

fn events(t: &Topology) -> super::Object {
    t.shared_plan().objects.into_iter().find(|o| o.role == Role::EventsExchange).unwrap()
}

fn argument(role: Role, name: &str, expected: Option<&str>, actual: Option<&str>) -> Difference {
    Difference {
        role,
        object: "eda.x".into(),
        found: Found::Argument {
            name: name.into(),
            expected: expected.map(Into::into),
            actual: actual.map(Into::into),
            policy: None,
        },
    }
}

#[test]
fn a_refused_alternate_exchange_reads_as_a_missing_argument_that_a_policy_fixes() {
    let t = Topology::new("eda", QueueType::Quorum);
    let message = "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'eda.events' \
                   in vhost '/': received the value 'eda.unrouted' of type 'longstr' but current is none";
    let d = from_refusal(&events(&t), message);
    assert_eq!(d.kind(), "alternate_exchange");
    assert_eq!(d.impact(), Impact::Degraded, "routing and delivery still work");
    assert!(
        d.consequence().contains("unroutable events are dropped: no alternate exchange"),
        "{}",
        d.consequence()
    );
    assert_eq!(
        d.fix("eda"),
        r#"rabbitmqctl set_policy --apply-to exchanges --priority 10 eda-events '^eda\.events$' '{"alternate-exchange":"eda.unrouted"}'"#
    );
}

#[test]
fn a_classic_queue_where_quorum_was_asked_is_degraded_and_fixed_by_recreating_it() {
    let t = Topology::new("eda", QueueType::Quorum);
    let queue = ServiceQueue { service: "billing".into(), bindings: vec!["#".into()] };
    let object = t.service_plan(&queue, &RetryPolicy::new(3, vec![])).objects.remove(0);
    let message =
        "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'eda.billing' in vhost '/': \
                   received the value 'quorum' of type 'longstr' but current is none";
    let d = from_refusal(&object, message);
    assert_eq!(d.found, Found::QueueType { expected: "quorum".into(), actual: "classic".into() });
    assert_eq!((d.kind(), d.impact()), ("queue_type", Impact::Degraded));
    assert!(d.consequence().contains("not replicated"), "{}", d.consequence());
    assert!(d.fix("eda").contains("rabbitmqctl delete_queue eda.billing"), "{}", d.fix("eda"));
}

#[test]
fn an_exchange_of_another_type_and_a_durability_difference_are_read_from_the_refusal() {
    let t = Topology::new("eda", QueueType::Quorum);
    let d = from_refusal(
        &events(&t),
        "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'eda.events' in vhost '/': received 'topic' but current is 'fanout'",
    );
    assert_eq!(d.found, Found::ExchangeType { expected: "topic".into(), actual: "fanout".into() });
    assert_eq!(d.impact(), Impact::Unsafe, "events cannot be routed by type");
    assert!(d.fix("eda").starts_with("`rabbitmqadmin delete exchange name=eda.events`"), "{}", d.fix("eda"));
    let dead = t.shared_plan().objects.into_iter().find(|o| o.role == Role::ParkingLot).unwrap();
    let d = from_refusal(
        &dead,
        "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'eda.dead' in vhost '/': received 'true' but current is 'false'",
    );
    assert_eq!((d.found.clone(), d.impact()), (Found::NotDurable, Impact::Unsafe));
}

#[test]
fn a_retry_queue_that_cannot_dead_letter_back_is_unsafe_and_a_per_service_policy_fixes_it() {
    let d = Difference {
        role: Role::RetryQueue,
        object: "eda.retry.billing.2".into(),
        found: Found::Argument {
            name: "x-dead-letter-exchange".into(),
            expected: Some(String::new()),
            actual: None,
            policy: None,
        },
    };
    assert_eq!(d.impact(), Impact::Unsafe);
    assert!(d.consequence().contains("a retry never comes back"), "{}", d.consequence());
    assert!(
        d.fix("eda").contains(r#"eda-retry-billing '^eda\.retry\.billing\.[0-9]+$'"#),
        "{}",
        d.fix("eda")
    );
    assert!(d.fix("eda").contains(r#""dead-letter-routing-key":"eda.billing""#), "{}", d.fix("eda"));
    let strategy = argument(Role::RetryQueue, "x-dead-letter-strategy", Some("at-least-once"), None);
    assert_eq!(strategy.impact(), Impact::Degraded, "retries still work, at most once");
    let no_ttl = argument(Role::RetryQueue, "x-message-ttl", Some("1000"), None);
    assert_eq!(no_ttl.impact(), Impact::Unsafe, "a retry would wait forever");
    assert_eq!(
        argument(Role::RetryQueue, "x-message-ttl", Some("1000"), Some("2000")).impact(),
        Impact::Advisory
    );
}

#[test]
fn a_parking_lot_that_can_drop_what_it_holds_is_unsafe_a_service_queue_that_can_is_degraded() {
    for name in ["x-message-ttl", "x-max-length", "x-expires", "x-delivery-limit"] {
        let d = argument(Role::ParkingLot, name, None, Some("5"));
        assert_eq!(d.impact(), Impact::Unsafe, "{name} on the parking lot");
        assert!(d.impact().breaks_a_guarantee());
    }
    for name in ["x-message-ttl", "x-max-length", "x-expires"] {
        assert_eq!(argument(Role::ServiceQueue, name, None, Some("5")).impact(), Impact::Degraded, "{name}");
    }
    assert_eq!(argument(Role::ServiceQueue, "x-delivery-limit", None, Some("5")).impact(), Impact::Advisory);
    assert_eq!(argument(Role::ServiceQueue, "x-something", None, Some("5")).impact(), Impact::Advisory);
}

#[test]
fn rabbitmq_4s_default_delivery_limit_breaks_the_parking_lot_only_on_rabbitmq_4() {
    let on = |role, rabbitmq4| Difference {
        role,
        object: "eda.dead".into(),
        found: Found::DefaultDeliveryLimit { rabbitmq4 },
    };
    assert_eq!(on(Role::ParkingLot, true).impact(), Impact::Unsafe);
    assert_eq!(on(Role::ParkingLot, false).impact(), Impact::Advisory, "3.x has no default limit");
    assert!(on(Role::ParkingLot, false)
        .consequence()
        .starts_with("on RabbitMQ 4, a parked message is dropped"));
    assert_eq!(on(Role::ServiceQueue, true).impact(), Impact::Advisory, "eda's retries are new publishes");
    assert!(on(Role::ParkingLot, true)
        .fix("eda")
        .contains(r#"'^eda\.(dead|unrouted)$' '{"delivery-limit":-1}'"#));
    assert!(on(Role::ParkingLot, false).fix("eda").starts_with("right after upgrading to RabbitMQ 4"));
    let service = Difference { object: "eda.billing".into(), ..on(Role::ServiceQueue, true) };
    assert!(
        service.fix("eda").contains(r#"'^eda\.(billing)$' '{"delivery-limit":1000}'"#),
        "{}",
        service.fix("eda")
    );
}

#[test]
fn the_documented_policies_outrank_each_other_in_the_right_order() {
    let (service, parking, retry) = (
        service_queues_policy("eda", &["dbwriter", "provisioner"]),
        parking_lot_policy("eda"),
        retry_policy("eda", "billing"),
    );
    assert_eq!(
        service.pattern, r"^eda\.(dbwriter|provisioner)$",
        "never the parking lot, which 3.x cannot exempt"
    );
    assert!(parking.priority > service.priority, "only one policy applies: the parking lot's must win");
    assert!(retry.priority > service.priority);
    assert_eq!(parking.definition["delivery-limit"], -1, "RabbitMQ 4: no limit");
    assert!(service.definition["delivery-limit"].as_i64().unwrap() >= 1000, "far above a redelivery storm");
    assert_eq!(events_policy("e.x").pattern, r"^e\.x\.events$", "a prefix is escaped");
}

#[test]
fn a_queue_created_without_eda_quorum_size_is_advisory_and_keeps_its_replicas() {
    let t = Topology::new("eda", QueueType::Quorum).with_quorum_size(Some(3));
    let queue = ServiceQueue { service: "billing".into(), bindings: vec!["#".into()] };
    let object = t.service_plan(&queue, &RetryPolicy::new(3, vec![])).objects.remove(0);
    let message =
        "PRECONDITION_FAILED - inequivalent arg 'x-quorum-initial-group-size' for queue 'eda.billing' \
                   in vhost '/': received the value '3' of type 'long' but current is none";
    let d = from_refusal(&object, message);
    assert_eq!((d.kind(), d.impact()), ("replicas", Impact::Advisory), "consuming and retrying work");
    assert!(d.consequence().contains("keeps the replicas it was created with"), "{}", d.consequence());
    assert!(d.fix("eda").contains("rabbitmq-queues add_member eda.billing NODE"), "{}", d.fix("eda"));
}

#[test]
fn eda_quorum_size_goes_on_every_quorum_queue_and_on_no_classic_one() {
    let size = |t: &Topology| -> Vec<Option<super::plan::Value>> {
        let queue = ServiceQueue { service: "billing".into(), bindings: vec!["#".into()] };
        let mut objects = t.shared_plan().objects;
        objects.extend(
            t.service_plan(&queue, &RetryPolicy::new(3, vec![std::time::Duration::from_secs(1)])).objects,
        );
        objects
            .into_iter()
            .filter(|o| !o.role.is_exchange())
            .map(|o| o.arguments.get(super::plan::QUORUM_SIZE_ARGUMENT).cloned())
            .collect()
    };
    let quorum = size(&Topology::new("eda", QueueType::Quorum).with_quorum_size(Some(3)));
    assert_eq!(quorum.len(), 4, "unrouted, dead, the service queue, one retry queue");
    assert!(quorum.iter().all(|v| *v == Some(super::plan::Value::Number(3))), "{quorum:?}");
    assert!(
        size(&Topology::new("eda", QueueType::Quorum)).iter().all(Option::is_none),
        "the broker's default"
    );
    let classic = size(&Topology::new("eda", QueueType::Classic).with_quorum_size(Some(3)));
    assert!(classic.iter().all(Option::is_none), "a classic queue has no replicas to size");
}
