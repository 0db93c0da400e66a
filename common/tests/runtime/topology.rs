use crate::helpers::*;

#[tokio::test]
async fn an_event_no_service_is_bound_for_lands_in_unrouted() {
    let h = Harness::new("nobody").await;
    h.publisher.publish(&order("lonely")).await.expect("an unrouted publish is still confirmed");
    let got = h.t.take(&h.t.name("unrouted"), 1, WAIT).await.remove(0);
    assert_eq!(got.routing_key.as_str(), "mycompany.producer.event.lonely.published");
    h.finish().await;
}

#[tokio::test]
async fn declaring_twice_is_harmless_and_classic_queues_are_allowed() {
    let mut h = Harness::new("twice").await;
    let spec = h.spec("twice", &["#"]);
    h.declare(&spec).await;
    h.declare(&spec).await;
    h.args.queue_type = eda_common::topology::QueueType::Classic;
    let classic = eda_common::topology::Topology::new(&format!("{}c", h.t.prefix), h.args.queue_type);
    classic.declare_shared(h.t.channel()).await.expect("classic shared topology");
    classic
        .declare_service(h.t.channel(), &spec.queue, h.broker.retry_policy())
        .await
        .expect("classic service queue");
    for q in ["dead", "unrouted", "twice", "retry.twice.1", "retry.twice.2"] {
        let _ =
            h.t.channel()
                .queue_delete(format!("{}c.{q}", h.t.prefix).as_str().into(), Default::default())
                .await;
    }
    for x in ["events", "retry", "unrouted"] {
        let _ =
            h.t.channel()
                .exchange_delete(format!("{}c.{x}", h.t.prefix).as_str().into(), Default::default())
                .await;
    }
    h.finish().await;
}
