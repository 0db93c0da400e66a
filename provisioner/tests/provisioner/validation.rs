//! Hostile or impossible orders: dead-lettered with a reason, never near helm or the API.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_malicious_client_name_never_reaches_helm_and_is_dead_lettered_with_a_clear_reason() {
    let h = Harness::start(on_fixture()).await;
    let long = "a".repeat(64);
    let hostile = ["x;rm -rf /", "--post-renderer=evil", long.as_str(), "Cliente02"];
    for client in hostile {
        h.publish(&order(client, "published")).await;
    }

    let mut reasons = h.dead_reasons(4).await;
    reasons.sort();
    let mut expected = vec![
        "invalid order: client is invalid: has ';' at position 2; only lowercase letters a-z, digits and '-' are allowed".to_string(),
        "invalid order: client is invalid: is 64 characters long, over the DNS-1123 limit of 63".to_string(),
        "invalid order: client is invalid: has 'C' at position 1; only lowercase letters a-z, digits and '-' are allowed".to_string(),
        "invalid order: client is invalid: has '=' at position 16; only lowercase letters a-z, digits and '-' are allowed".to_string(),
    ];
    expected.sort();
    assert_eq!(reasons, expected);
    let failed = h.next_events(4).await;
    assert!(failed.iter().all(|(action, body)| action == "failed"
        && body["error"].as_str().unwrap().starts_with("invalid order: client is invalid: ")));
    assert!(h.helm_calls().is_empty(), "helm never ran");
    assert_eq!(h.effect_requests(), Vec::<String>::new(), "the API was never called for an order");
    assert_eq!(h.t.queue_len(&h.events).await, 0, "no provisioning was announced");
    h.finish().await;
}

#[tokio::test]
async fn an_unknown_product_and_a_reserved_namespace_are_dead_lettered_naming_the_field() {
    let h = Harness::start(on_fixture()).await;
    h.publish(&order_with("cliente06", "published", json!({"product": "product-z"}))).await;
    let reasons = h.dead_reasons(1).await;
    assert_eq!(
        reasons,
        ["invalid order: product: `product-z` is not in the catalog (it has product-a, product-b, product-c, product-db)"]
    );
    h.publish(&order_with("cliente06", "published", json!({"namespace": "kube-system"}))).await;
    let reasons = h.dead_reasons(1).await;
    assert_eq!(
        reasons,
        ["invalid order: namespace `kube-system` is reserved by Kubernetes; a tenant needs its own"]
    );
    assert!(h.helm_calls().is_empty());
    h.finish().await;
}
