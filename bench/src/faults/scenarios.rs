//! The scenarios: each breaks one thing while orders flow into the dbwriter.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eda_common::publisher::Outgoing;

use super::proxy::Proxy;
use super::world::{World, AMQP};
use super::Outcome;

pub const SCENARIOS: &[&str] = &[
    "duplicates",
    "poison-flood",
    "connection-closed",
    "sigterm",
    "dbwriter-kill-9",
    "network-drop",
    "postgres-stop",
    "broker-restart",
];

const ORDERS: usize = 10_000;
const DRAIN: Duration = Duration::from_secs(300);

/// What a scenario did, before the counts are taken.
struct Run {
    sent: i64,
    /// From the end of the fault to everything stored.
    recovery: Duration,
    expected_dead: u32,
}

/// Runs one scenario in a fresh world and measures it.
pub async fn run(name: &'static str, bin_dir: PathBuf) -> Outcome {
    let world = match World::new(name, bin_dir).await {
        Ok(w) => w,
        Err(e) => return failed(name, e),
    };
    let result = match name {
        "duplicates" => duplicates(&world).await,
        "poison-flood" => poison_flood(&world).await,
        "connection-closed" => connection_closed(&world).await,
        "sigterm" => sigterm(&world).await,
        "dbwriter-kill-9" => kill_9(&world).await,
        "network-drop" => network_drop(&world).await,
        "postgres-stop" => postgres_stop(&world).await,
        "broker-restart" => broker_restart(&world).await,
        other => Err(anyhow::anyhow!("unknown scenario {other}")),
    };
    let (rows, distinct) = world.stored().await;
    let dead = world.dead_lettered().await;
    let outcome = match result {
        Ok(r) => Outcome {
            scenario: name,
            sent: r.sent,
            stored: distinct,
            duplicates: rows - distinct,
            dead_lettered: dead,
            recovery: r.recovery,
            expected_dead: r.expected_dead,
            wrong_states: None,
            error: None,
        },
        Err(e) => {
            Outcome { stored: distinct, duplicates: rows - distinct, dead_lettered: dead, ..failed(name, e) }
        }
    };
    world.finish().await;
    outcome
}

pub(super) fn failed(scenario: &'static str, e: anyhow::Error) -> Outcome {
    Outcome {
        scenario,
        sent: ORDERS as i64,
        stored: 0,
        duplicates: 0,
        dead_lettered: 0,
        recovery: Duration::ZERO,
        expected_dead: 0,
        wrong_states: None,
        error: Some(format!("{e:#}")),
    }
}

/// Every order, then 3,000 of them again with the same message ids.
async fn duplicates(w: &World) -> anyhow::Result<Run> {
    let _dbw = w.start_dbwriter(AMQP, 10).await?;
    w.publish_orders(0..ORDERS, 0).await?;
    w.publish_orders(0..3_000, 0).await?;
    let t0 = Instant::now();
    w.wait_stored(ORDERS as i64, DRAIN).await?;
    Ok(Run { sent: ORDERS as i64, recovery: t0.elapsed(), expected_dead: 0 })
}

/// One malformed message after every ten good ones.
async fn poison_flood(w: &World) -> anyhow::Result<Run> {
    let _dbw = w.start_dbwriter(AMQP, 10).await?;
    let poison = (ORDERS / 10) as u32;
    for chunk in 0..10 {
        let start = chunk * ORDERS / 10;
        w.publish_orders(start..start + ORDERS / 10, 0).await?;
        let bad: Vec<Outgoing> = (0..poison as usize / 10)
            .map(|i| Outgoing {
                exchange: format!("{}.events", w.prefix),
                routing_key: "mycompany.faultload.event.poison.published".into(),
                body: format!("{{not json {chunk}-{i}").into_bytes(),
                properties: Default::default(),
                mandatory: false,
            })
            .collect();
        w.publisher.send_all(bad).await?;
    }
    let t0 = Instant::now();
    w.wait_stored(ORDERS as i64, DRAIN).await?;
    // The last chunk's poison may still be on its way to the parking lot.
    w.wait_dead(poison, DRAIN).await?;
    Ok(Run { sent: ORDERS as i64, recovery: t0.elapsed(), expected_dead: poison })
}

/// The broker closes the dbwriter's connection three times while orders flow.
async fn connection_closed(w: &World) -> anyhow::Result<Run> {
    let _dbw = w.start_dbwriter(AMQP, 10).await?;
    let fault = async {
        for k in 1..=3 {
            w.wait_stored(k * 2_000, DRAIN).await?;
            let prefix = w.prefix.clone();
            tokio::task::spawn_blocking(move || {
                eda_tests::broker::close_connections_named(&prefix, "fault: closed by server")
            })
            .await?;
        }
        Ok::<_, anyhow::Error>(Instant::now())
    };
    during_load(w, 1_000, fault).await
}

/// SIGTERM mid-load: the dbwriter must finish its batch and exit 0; a new one takes over.
async fn sigterm(w: &World) -> anyhow::Result<Run> {
    let mut dbw = w.start_dbwriter(AMQP, 10).await?;
    let fault = async {
        w.wait_stored(3_000, DRAIN).await?;
        dbw.signal("-TERM");
        let status = tokio::time::timeout(Duration::from_secs(30), dbw.child.wait()).await??;
        anyhow::ensure!(status.success(), "dbwriter exited with {status} after SIGTERM");
        let t0 = Instant::now();
        let next = w.start_dbwriter(AMQP, 10).await?;
        Ok::<_, anyhow::Error>((t0, next))
    };
    let (published, restarted) = tokio::join!(w.publish_orders(0..ORDERS, 1_000), fault);
    published?;
    let (t0, _next) = restarted?;
    w.wait_stored(ORDERS as i64, DRAIN).await?;
    Ok(Run { sent: ORDERS as i64, recovery: t0.elapsed(), expected_dead: 0 })
}

/// 10,000 orders queued, the dbwriter killed with SIGKILL mid-drain, then restarted.
async fn kill_9(w: &World) -> anyhow::Result<Run> {
    w.declare_dbwriter_queue().await?;
    w.publish_orders(0..ORDERS, 0).await?;
    let mut dbw = w.start_dbwriter(AMQP, 10).await?;
    w.wait_stored(3_000, DRAIN).await?;
    dbw.signal("-KILL");
    let _ = dbw.child.wait().await;
    let t0 = Instant::now();
    let _next = w.start_dbwriter(AMQP, 10).await?;
    w.wait_stored(ORDERS as i64, DRAIN).await?;
    Ok(Run { sent: ORDERS as i64, recovery: t0.elapsed(), expected_dead: 0 })
}

/// The network between the dbwriter and the broker stops forwarding for 20 s; heartbeats
/// (2 s) notice, the dbwriter reconnects when it comes back.
async fn network_drop(w: &World) -> anyhow::Result<Run> {
    let proxy = Proxy::start("127.0.0.1:5672".parse()?).await?;
    let url = format!("amqp://guest:guest@{}/%2f", proxy.addr);
    let _dbw = w.start_dbwriter(&url, 2).await?;
    let fault = async {
        w.wait_stored(2_000, DRAIN).await?;
        proxy.set_forwarding(false);
        tokio::time::sleep(Duration::from_secs(20)).await;
        proxy.set_forwarding(true);
        Ok::<_, anyhow::Error>(Instant::now())
    };
    during_load(w, 500, fault).await
}

/// PostgreSQL stopped for 30 s under load: nothing is acked, nothing dead-lettered.
async fn postgres_stop(w: &World) -> anyhow::Result<Run> {
    let _dbw = w.start_dbwriter(AMQP, 10).await?;
    let fault = async {
        w.wait_stored(1_000, DRAIN).await?;
        service("postgresql", "stop").await?;
        tokio::time::sleep(Duration::from_secs(30)).await;
        service("postgresql", "start").await?;
        Ok::<_, anyhow::Error>(Instant::now())
    };
    during_load(w, 400, fault).await
}

/// RabbitMQ stopped and started mid-stream; publishes retry until confirmed.
async fn broker_restart(w: &World) -> anyhow::Result<Run> {
    let _dbw = w.start_dbwriter(AMQP, 10).await?;
    let fault = async {
        w.wait_stored(2_000, DRAIN).await?;
        service("rabbitmq", "stop").await?;
        tokio::time::sleep(Duration::from_secs(5)).await;
        service("rabbitmq", "start").await?;
        Ok::<_, anyhow::Error>(Instant::now())
    };
    during_load(w, 1_000, fault).await
}

/// Publishes every order at `rate` while `fault` runs (it returns when the fault ended), then
/// waits until every order is stored; recovery counts from the end of the fault.
async fn during_load(
    w: &World,
    rate: u32,
    fault: impl std::future::Future<Output = anyhow::Result<Instant>>,
) -> anyhow::Result<Run> {
    let (published, fault_ended) = tokio::join!(w.publish_orders(0..ORDERS, rate), fault);
    published?;
    let t0 = fault_ended?;
    w.wait_stored(ORDERS as i64, DRAIN).await?;
    Ok(Run { sent: ORDERS as i64, recovery: t0.elapsed(), expected_dead: 0 })
}

/// Stops or starts a shared service the way scripts/dev-services.sh does.
async fn service(which: &str, action: &str) -> anyhow::Result<()> {
    let script = match (which, action) {
        ("rabbitmq", "stop") => "rabbitmqctl -q stop_app".to_string(),
        ("rabbitmq", "start") => "rabbitmqctl -q start_app && rabbitmqctl -q await_startup".to_string(),
        ("postgresql", a) => format!(
            "for v in $(ls /etc/postgresql); do pg_ctlcluster --skip-systemctl-redirect $v main {a} || pg_ctlcluster $v main {a}; done"
        ),
        _ => anyhow::bail!("unknown service action {which} {action}"),
    };
    let status = tokio::process::Command::new("sh").args(["-c", &script]).status().await?;
    anyhow::ensure!(status.success(), "`{script}` failed with {status}");
    Ok(())
}
