//! The tenant lifecycle (DESIGN.md §8) on the real control plane: no retry, replay, reordering
//! or second replica lets an older order undo a newer one.

use chrono::{DateTime, Duration as Span, Utc};
use eda_common::Envelope;
use serde_json::json;

use crate::helpers::*;

/// An order at a given event time.
fn order_at(client: &str, action: &str, at: DateTime<Utc>) -> Envelope {
    let mut envelope = order(client, action);
    envelope.attributes.published_on = at;
    envelope
}

fn helm_missing(h: &Harness, namespace: &str) -> bool {
    let status = h.cluster().helm(&["status", "product-a", "--namespace", namespace]);
    !status.status.success() && String::from_utf8_lossy(&status.stderr).contains("not found")
}

#[tokio::test]
async fn a_retried_purchase_after_its_cancellation_installs_nothing_and_is_superseded() {
    // The reproduction of the issue: the purchase's first helm run fails transiently, the
    // cancellation is handled, then the purchase comes back (as a retry would bring it).
    let h = Harness::start(Setup { helm: Helm::Fake(vec!["fail-transient"]), ..Setup::default() }).await;
    let client = h.client("l01");
    let now = Utc::now();
    let purchase = order_at(&client, "published", now);
    h.publish_with_id(&purchase, "purchase-1").await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    h.publish_with_id(&order_at(&client, "cancelled", now + Span::seconds(1)), "cancel-1").await;
    assert_eq!(h.actions(1).await, ["deprovisioned"]);
    h.publish_with_id(&purchase, "purchase-1").await;

    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "superseded");
    let body = &events[0].1;
    assert_eq!((&body["order_id"], &body["newer_order_id"]), (&json!("purchase-1"), &json!("cancel-1")));
    assert_eq!(body["newer_desired"], "absent");
    assert_eq!(body["MessageAttributes"]["trace_id"], TRACE_ID);
    let calls: Vec<String> = h.helm_calls().iter().map(|c| c[0].clone()).collect();
    assert_eq!(calls, ["upgrade", "upgrade", "uninstall"], "nothing ran after the uninstall");
    let tenant = h.tenant(&client, "product-a").await;
    assert_eq!(
        (&tenant["spec"]["desired"], &tenant["status"]["phase"]),
        (&json!("absent"), &json!("Deprovisioned"))
    );
    assert_eq!(
        h.metric(r#"eda_provisioner_stale_orders_total{service="provisioner"}"#),
        Some(1.0),
        "counted before the event was published"
    );
    h.finish().await;
}

#[tokio::test]
async fn a_cancellation_delivered_before_an_older_purchase_leaves_nothing_installed() {
    let h = Harness::start(Setup::default()).await;
    let client = h.client("l02");
    let now = Utc::now();
    h.publish_with_id(&order_at(&client, "cancelled", now), "cancel-2").await;
    assert_eq!(h.actions(1).await, ["deprovisioned"], "a tombstone");
    h.publish_with_id(&order_at(&client, "published", now - Span::seconds(5)), "purchase-2").await;

    let events = h.next_events(1).await;
    assert_eq!(events[0].0, "superseded");
    assert_eq!(events[0].1["newer_order_time"], now.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
    assert!(helm_missing(&h, &client), "no release");
    assert!(h.cluster().get("namespaces", None, &client).await.is_none(), "not even a namespace");
    h.finish().await;
}

#[tokio::test]
async fn a_cancellation_while_the_release_installs_is_noticed_at_the_next_step() {
    // Pods that never get ready keep helm waiting; the cancellation arrives meanwhile.
    let catalog = provisioner::catalog::BUILT_IN.replace(
        "      message: \"Product A\"\n",
        &format!(
            "      message: \"Product A\"\n      podAnnotations: {{ {}: \"true\" }}\n",
            eda_tests::control_plane::NEVER_READY
        ),
    );
    let tune = Box::new(|c: &mut provisioner::Config| c.helm_timeout = std::time::Duration::from_secs(8));
    let h = Harness::start(Setup { catalog: Some(catalog), tune, ..Setup::default() }).await;
    let client = h.client("l03");
    h.publish(&order(&client, "published")).await;
    assert_eq!(h.actions(1).await, ["provisioning"]);
    h.cluster().wait_for("deployments", Some(&client), "product-a", |_| true).await;
    h.publish(&order(&client, "cancelled")).await;

    assert_eq!(h.actions(1).await, ["deprovisioned"], "never provisioned, never failed");
    let tenant = h.tenant(&client, "product-a").await;
    assert_eq!(tenant["status"]["phase"], "Deprovisioned");
    assert!(helm_missing(&h, &client));
    h.finish().await;
}

#[tokio::test]
async fn a_purchase_replayed_from_the_dead_letter_queue_after_a_cancellation_installs_nothing() {
    use eda_common::delivery::{DEAD_ERROR, DEAD_QUEUE};
    use eda_common::publisher::{envelope_properties, long, with_header};

    let h = Harness::start(Setup::default()).await;
    let client = h.client("l04");
    let now = Utc::now();
    let purchase = order_at(&client, "published", now - Span::seconds(10));
    h.publish_with_id(&order_at(&client, "cancelled", now), "cancel-4").await;
    assert_eq!(h.actions(1).await, ["deprovisioned"]);
    // The purchase, parked in the dead-letter queue as the runtime parks a message that
    // exhausted its retries in the provisioner's queue.
    let mut props = envelope_properties(&purchase, "purchase-4", "producer");
    props = with_header(props, DEAD_QUEUE, long(&h.t.name("provisioner")));
    props = with_header(props, DEAD_ERROR, long("gave up after 3 retries: API server unreachable"));
    h.t.publish("", &h.t.name("dead"), &purchase.to_json(), props).await;

    let runtime = eda_common::service::Service::start(&h.config.common, "dlq", consumer::PUBLISH_TIMEOUT);
    let args = consumer::config::ReplayArgs { all: true, ..Default::default() };
    let report = consumer::dlq::replay(&runtime, &args, &mut Vec::new()).await.expect("the replay runs");
    assert_eq!(report.replayed, 1);
    runtime.close().await;

    let events = h.next_events(1).await;
    assert_eq!((events[0].0.as_str(), &events[0].1["order_id"]), ("superseded", &json!("purchase-4")));
    assert!(helm_missing(&h, &client));
    h.finish().await;
}
