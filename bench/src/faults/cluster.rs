//! The cluster scenarios (DESIGN.md §11): two dbwriters on the three-node RabbitMQ cluster of
//! `scripts/rabbit-cluster.sh` while a node is killed, stopped, frozen or restarted, or one
//! replica is killed; then every order must be stored once and every deployment must end in
//! its client's newest state.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use eda_common::publisher::Outgoing;
use eda_tests::order_load::{ended_states, LoadEvent, Newest, OrderLoad};
use eda_tests::rabbit_cluster::RabbitCluster;
use sqlx::{Connection, PgConnection};

use super::scenarios::failed;
use super::world::World;
use super::Outcome;

pub const CLUSTER_SCENARIOS: &[&str] = &[
    "cluster-leader-kill-9",
    "cluster-stop-app",
    "cluster-freeze-60s",
    "cluster-rolling-restart",
    "cluster-replica-kill-9",
];

const ORDERS: usize = 10_000;
const CLIENTS: usize = 250;
const DRAIN: Duration = Duration::from_secs(600);
/// Long enough for a queue's leader election on a loaded machine: a publish is sent again
/// within it, so only a cluster without a majority for that long fails a publish.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs one cluster scenario in a fresh world and measures it.
pub async fn run(name: &'static str, bin_dir: PathBuf) -> Outcome {
    let cluster = match tokio::task::spawn_blocking(RabbitCluster::ensure).await {
        Ok(c) => c,
        Err(e) => return failed(name, anyhow::anyhow!("the cluster did not start: {e}")),
    };
    let world = match World::on(name, bin_dir, &cluster.amqp_url_from(1), PUBLISH_TIMEOUT).await {
        Ok(w) => w,
        Err(e) => return failed(name, e),
    };
    let load = OrderLoad::new(&world.prefix, ORDERS, CLIENTS, 0x21);
    let result = scenario(name, &world, &cluster, &load).await;
    let (rows, distinct) = stored(&world).await;
    let wrong = wrong_states(&world, &load.newest).await;
    let outcome = match result {
        Ok(recovery) => Outcome {
            scenario: name,
            sent: ORDERS as i64,
            stored: distinct,
            duplicates: rows - distinct,
            dead_lettered: world.dead_lettered().await,
            recovery,
            expected_dead: 0,
            wrong_states: Some(wrong),
            error: None,
        },
        Err(e) => Outcome {
            stored: distinct,
            duplicates: rows - distinct,
            wrong_states: Some(wrong),
            ..failed(name, e)
        },
    };
    finish(world).await;
    outcome
}

/// Cleans the world up and brings back whatever node the scenario left down, for the next one.
pub(super) async fn finish(world: World) {
    world.finish().await;
    let _ = tokio::task::spawn_blocking(RabbitCluster::ensure).await;
}

/// Two dbwriters (each listing the nodes from another one), the load at the scenario's rate,
/// the fault once a fifth is stored; the time from the end of the fault to the last order stored.
async fn scenario(
    name: &str,
    w: &World,
    cluster: &RabbitCluster,
    load: &OrderLoad,
) -> anyhow::Result<Duration> {
    let mut first = w.start_dbwriter(&cluster.amqp_url_from(1), 2).await?;
    let _second = w.start_dbwriter(&cluster.amqp_url_from(2), 2).await?;
    let queue = format!("{}.dbwriter", w.prefix);
    let rate = match name {
        // Load that outlasts the fault, so the cluster is under load while it heals.
        "cluster-freeze-60s" | "cluster-rolling-restart" => 100,
        _ => 500,
    };
    let fault = async {
        wait_stored(w, (ORDERS / 5) as i64).await?;
        let leader = leader_of(cluster, &queue).await?;
        let ended = match name {
            "cluster-replica-kill-9" => {
                first.signal("-KILL");
                let _ = first.child.wait().await;
                let ended = Instant::now();
                // Its replacement, as a Deployment would start one.
                first = w.start_dbwriter(&cluster.amqp_url_from(1), 2).await?;
                ended
            }
            other => node_fault(other.trim_start_matches("cluster-"), cluster, leader).await?,
        };
        Ok::<_, anyhow::Error>(ended)
    };
    let publish = w.publish_windows(0..load.events.len(), rate, |i| outgoing(&w.prefix, &load.events[i]));
    let (published, ended) = tokio::join!(publish, fault);
    published?;
    let ended = ended?;
    wait_stored(w, ORDERS as i64).await?;
    Ok(ended.elapsed())
}

/// Breaks the node `leader` (or all three, in turn) as `kind` says; returns when the fault ended.
pub(super) async fn node_fault(kind: &str, cluster: &RabbitCluster, leader: u8) -> anyhow::Result<Instant> {
    let c = cluster.clone();
    let ended = match kind {
        "leader-kill-9" => {
            let down = blocking(move || c.kill_9(leader)).await?;
            let ended = Instant::now();
            // The node comes back once the survivors have taken over, as a restarted pod would.
            tokio::time::sleep(Duration::from_secs(20)).await;
            blocking(move || drop(down)).await?;
            ended
        }
        "stop-app" => {
            blocking(move || {
                c.ctl(leader, &["stop_app"]);
                std::thread::sleep(Duration::from_secs(15));
                c.ctl(leader, &["start_app"]);
                c.ctl(leader, &["await_startup"]);
            })
            .await?;
            Instant::now()
        }
        "freeze-60s" => {
            blocking(move || {
                c.signal(leader, "STOP");
                std::thread::sleep(Duration::from_secs(60));
                c.signal(leader, "CONT");
            })
            .await?;
            Instant::now()
        }
        "rolling-restart" => {
            blocking(move || {
                for n in eda_tests::rabbit_cluster::NODES {
                    c.stop_node(n);
                    c.start_node(n);
                }
            })
            .await?;
            Instant::now()
        }
        other => anyhow::bail!("unknown node fault {other}"),
    };
    Ok(ended)
}

/// The node holding the leader of `queue`.
pub(super) async fn leader_of(cluster: &RabbitCluster, queue: &str) -> anyhow::Result<u8> {
    let (c, q) = (cluster.clone(), queue.to_owned());
    blocking(move || c.leader_of(&q)).await
}

pub(super) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    Ok(tokio::task::spawn_blocking(f).await?)
}

pub(super) fn outgoing(prefix: &str, e: &LoadEvent) -> Outgoing {
    Outgoing {
        exchange: format!("{prefix}.events"),
        routing_key: e.routing_key.clone(),
        body: e.body.clone(),
        properties: e.properties(),
        mandatory: false,
    }
}

/// (rows, distinct message ids) in `events`; (0, 0) while unreachable.
async fn stored(w: &World) -> (i64, i64) {
    let Ok(mut conn) = PgConnection::connect(&w.database_url()).await else { return (0, 0) };
    let counts = sqlx::query_as::<_, (i64, i64)>("SELECT count(*), count(DISTINCT message_id) FROM events")
        .fetch_one(&mut conn)
        .await
        .unwrap_or((0, 0));
    let _ = conn.close().await;
    counts
}

/// Polls until `n` orders are stored (the database has no event to await).
async fn wait_stored(w: &World, n: i64) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let (_, distinct) = stored(w).await;
        if distinct >= n {
            return Ok(());
        }
        anyhow::ensure!(started.elapsed() < DRAIN, "only {distinct} of {n} orders stored after {DRAIN:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Clients whose deployment is not in its newest order's state (or is missing).
async fn wrong_states(w: &World, newest: &BTreeMap<String, Newest>) -> i64 {
    let Ok(mut conn) = PgConnection::connect(&w.database_url()).await else { return newest.len() as i64 };
    let ended = ended_states(&mut conn).await.unwrap_or_default();
    let _ = conn.close().await;
    newest.iter().filter(|(client, want)| ended.get(*client) != Some(want)).count() as i64
}
