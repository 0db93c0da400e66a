//! The Kubernetes API failing (the API test fixture, for faults a real server will not make
//! on demand): 5xx retried by the reconciler until it answers, 4xx failing the tenant at once.

use crate::helpers::*;

#[tokio::test]
async fn an_api_server_answering_500_then_200_is_retried_and_the_order_succeeds() {
    let h = Harness::start(on_fixture()).await;
    h.api().fail_next("PATCH", "/api/v1/namespaces/cliente07", 500, 1);
    h.publish(&order("cliente07", "published")).await;

    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    let statuses: Vec<(String, u16)> = h
        .api()
        .requests()
        .iter()
        .filter(|r| r.method_and_path() == "PATCH /api/v1/namespaces/cliente07")
        .take(2)
        .map(|r| (r.method_and_path(), r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("PATCH /api/v1/namespaces/cliente07".to_string(), 500),
            ("PATCH /api/v1/namespaces/cliente07".to_string(), 201)
        ]
    );
    assert!(h.api().get("namespaces", None, "cliente07").is_some());
    assert_eq!(h.helm_calls().len(), 1, "helm ran once, after the baseline was in place");
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}

#[tokio::test]
async fn an_api_server_refusing_with_403_fails_the_tenant_with_the_api_message() {
    let h = Harness::start(on_fixture()).await;
    h.api().fail_next("PATCH", "/api/v1/namespaces/cliente08", 403, 1);
    h.publish(&order("cliente08", "published")).await;

    let events = h.next_events(2).await;
    assert_eq!(events[1].0, "failed");
    let error = events[1].1["error"].as_str().unwrap();
    assert!(error.starts_with("Kubernetes API: apply Namespace cliente08: 403"), "{error}");
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0, "the order was recorded; its effect failed");
    assert!(h.helm_calls().is_empty(), "nothing is deployed without its baseline");
    h.finish().await;
}
