//! Two dbwriters on the three-node RabbitMQ cluster: the node holding the queue's leader killed
//! mid-stream, and every order stored once, every deployment in its client's newest state.
//! The short version of the fault suite's cluster scenarios (scripts/faults.sh).

use std::sync::Arc;
use std::time::Duration;

use eda_common::config::CommonArgs;
use eda_common::health::{Health, Readiness};
use eda_common::metrics::Metrics;
use eda_common::publisher::Outgoing;
use eda_common::{Broker, Publisher};
use eda_tests::broker::TestBroker;
use eda_tests::db::TestDb;
use eda_tests::order_load::OrderLoad;
use eda_tests::rabbit_cluster::RabbitCluster;

use crate::helpers::*;

#[tokio::test]
async fn two_dbwriters_store_every_order_once_when_the_leader_node_is_killed_on_the_rabbit_cluster() {
    let cluster = tokio::task::spawn_blocking(RabbitCluster::ensure).await.unwrap();
    let t = TestBroker::connect_to(cluster.url(3)).await;
    let db = TestDb::fresh_name();
    // Each replica lists the nodes from another one, as replicas behind a load balancer would land.
    let first = Running::start_with(&t, &db, |c| {
        c.common.amqp_url = Some(cluster.amqp_url_from(1).into());
        c.common.heartbeat = 2;
    })
    .await;
    let second = Running::start_with(&t, &db, |c| {
        c.common.amqp_url = Some(cluster.amqp_url_from(2).into());
        c.common.heartbeat = 2;
    })
    .await;
    let queue = t.name("dbwriter");
    let leader = cluster.leader_of(&queue);

    let mut args = CommonArgs::for_prefix(&t.prefix);
    args.amqp_url = Some(cluster.amqp_url_from(leader).into());
    let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new("load")) };
    let broker = Broker::start(&args, "load", &health);
    let publisher = Publisher::new(&broker, Duration::from_secs(60));

    let load = OrderLoad::new(&t.prefix, 1_000, 100, 0x21);
    let pool = db.pool().await;
    let (before, after) = load.events.split_at(300);
    publisher
        .send_all(before.iter().map(|e| outgoing(&t, e)).collect())
        .await
        .expect("first orders confirmed");
    wait_until("the first orders stored", || async { event_rows(&pool).await >= 100 }).await;
    let down = tokio::task::spawn_blocking({
        let cluster = cluster.clone();
        move || cluster.kill_9(leader)
    })
    .await
    .unwrap();
    for window in after.chunks(100) {
        // The publisher fails over by itself; a window not confirmed within its timeout fails the test.
        publisher
            .send_all(window.iter().map(|e| outgoing(&t, e)).collect())
            .await
            .expect("confirmed by another node");
    }
    wait_until("every order stored", || async { event_rows(&pool).await >= 1_000 }).await;

    let ids: Vec<String> =
        sqlx::query_scalar("SELECT message_id FROM events").fetch_all(&pool).await.unwrap();
    let expected: std::collections::BTreeSet<_> = load.events.iter().map(|e| e.message_id.clone()).collect();
    assert_eq!(ids.len(), 1_000, "each order stored once");
    assert_eq!(ids.into_iter().collect::<std::collections::BTreeSet<_>>(), expected);
    let ended = eda_tests::order_load::ended_states(&pool).await.unwrap();
    assert_eq!(ended, load.newest, "every deployment ends in its client's newest state");
    assert_ne!(cluster.leader_of(&queue), leader, "the leader moved off the killed node");

    broker.close().await;
    first.stop().await;
    second.stop().await;
    pool.close().await;
    tokio::task::spawn_blocking(move || drop(down)).await.unwrap();
    t.cleanup().await;
}

fn outgoing(t: &TestBroker, e: &eda_tests::order_load::LoadEvent) -> Outgoing {
    Outgoing {
        exchange: t.name("events"),
        routing_key: e.routing_key.clone(),
        body: e.body.clone(),
        properties: e.properties(),
        mandatory: false,
    }
}
