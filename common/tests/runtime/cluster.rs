//! Several brokers in `AMQP_URL`: the next one when the first is unreachable or its node dies,
//! and `EDA_QUORUM_SIZE` on the queues declared on the three-node cluster.

use std::collections::HashSet;
use std::time::Duration;

use eda_common::delivery;
use eda_tests::broker::TestBroker;
use eda_tests::rabbit_cluster::{argument, RabbitCluster};

use crate::helpers::*;
use crate::reconnect::{http_get, ServedHealth};

/// Awaits `fut`, or panics naming `what` after [`WAIT`].
async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, fut).await.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A consumer of `service` (bound to `#`) on the cluster, listing the nodes from node 1, once
/// it consumes; the harness's own connection is on node 3.
async fn consuming_on_the_cluster(
    service: &str,
    configure: impl FnOnce(&mut eda_common::config::CommonArgs),
) -> (RabbitCluster, Harness, Running, tokio::sync::mpsc::UnboundedReceiver<delivery::Message>) {
    let cluster = tokio::task::spawn_blocking(RabbitCluster::ensure).await.unwrap();
    let t = TestBroker::connect_to(cluster.url(3)).await;
    let h = Harness::configured(t, service, |args| {
        args.amqp_url = Some(cluster.amqp_url_from(1).into());
        configure(args);
    })
    .await;
    let spec = h.spec(service, &["#"]);
    let (handler, seen) = Scripted::new(vec![]);
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let run = tokio::spawn(async move { delivery::run(&p, spec, handler, s).await });
    within("the consumer to declare and consume", h.health.readiness.wait_for("consumer", true)).await;
    (cluster, h, run, seen)
}

type Running = tokio::task::JoinHandle<anyhow::Result<()>>;

#[tokio::test]
async fn a_service_whose_first_broker_is_unreachable_uses_the_next_and_readyz_names_it() {
    let local = eda_tests::broker::amqp_url();
    let dead = "amqp://guest:not-shown@127.0.0.1:1/%2f";
    let h = Harness::configured(TestBroker::new().await, "second", |args| {
        args.amqp_url = Some(format!("{dead},{local}").into());
    })
    .await;
    within("a connection to the second broker", h.health.readiness.wait_for("broker", true)).await;
    let served = ServedHealth::start(&h.health).await;
    let (status, body) = http_get(served.addr, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    let readyz: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(readyz["broker"], eda_common::config::redact_url(&local), "{body}");
    assert!(!body.contains("not-shown"), "no password in /readyz: {body}");
    h.publisher.publish(&order("second")).await.expect("published through the second broker");
    served.stop().await;
    h.finish().await;
}

#[tokio::test]
async fn eda_quorum_size_is_on_every_queue_eda_declares_on_the_rabbit_cluster() {
    let (cluster, h, run, _seen) = consuming_on_the_cluster("sized", |args| args.quorum_size = Some(2)).await;
    for queue in ["dead", "unrouted", "sized", "retry.sized.1", "retry.sized.2"] {
        let name = h.t.name(queue);
        let info = cluster.queue_info(&name, "arguments members");
        assert_eq!(argument(&info, "x-quorum-initial-group-size"), Some(2.into()), "{name}: {info}");
        assert_eq!(info["members"].as_array().map(Vec::len), Some(2), "{name} has two replicas: {info}");
    }
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}

#[tokio::test]
async fn killing_the_node_a_service_is_on_fails_over_to_the_next_and_loses_nothing_on_the_rabbit_cluster() {
    let (cluster, h, run, mut seen) = consuming_on_the_cluster("survivor", |args| args.heartbeat = 2).await;
    let first = h.health.readiness.note("broker").expect("connected to a broker");
    let node = cluster.node_of(&first).expect("a node of the cluster");
    assert_eq!(node, 1, "the first broker of the list is tried first");

    let total = 1_000;
    let messages: Vec<_> = (0..total).map(|i| h.publisher.event(&order(&format!("c{i}")))).collect();
    let (before, after) = messages.split_at(total / 2);
    h.publisher.send_all(before.to_vec()).await.expect("the first half confirmed");
    let mut ids = HashSet::new();
    while ids.len() < 50 {
        ids.insert(next_seen(&mut seen, "messages before the kill").await.message_id);
    }
    let down = tokio::task::spawn_blocking({
        let cluster = cluster.clone();
        move || cluster.kill_9(node)
    })
    .await
    .unwrap();
    // Publishing fails over by itself: no retry loop here, each window must be confirmed. The
    // timeout covers the queues' leader elections, which take seconds on a loaded machine.
    let publisher = eda_common::Publisher::new(&h.broker, Duration::from_secs(60));
    for window in after.chunks(100) {
        publisher.send_all(window.to_vec()).await.expect("confirmed by another node");
    }
    while ids.len() < total {
        ids.insert(next_seen(&mut seen, "every message after the kill").await.message_id);
    }
    let now = h.health.readiness.note("broker").expect("connected again");
    assert_ne!(cluster.node_of(&now), Some(node), "on another node now: {now}");
    assert!(h.health.metrics.reconnects.get() >= 1, "the service reconnected");
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    tokio::time::timeout(Duration::from_secs(300), tokio::task::spawn_blocking(move || drop(down)))
        .await
        .expect("the killed node restarts")
        .unwrap();
    h.finish().await;
}
