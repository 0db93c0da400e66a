//! A throw-away prefix and databases for one benchmark run, and pre-filling the dbwriter's queue.

use std::time::Instant;

use dbwriter::Config;
use eda_common::config::CommonArgs;
use eda_common::publisher::envelope_properties;
use eda_common::topology::{QueueType, ServiceQueue, Topology};
use eda_common::{Envelope, EventType};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{Connection, ConnectionProperties};
use sqlx::Connection as _;

pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

pub fn pg_server() -> String {
    std::env::var("BENCH_PG_SERVER").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A session on the server's `postgres` database, for creating and dropping databases.
pub async fn admin() -> sqlx::PgConnection {
    sqlx::PgConnection::connect(&format!("{}/postgres", pg_server())).await.unwrap()
}

pub struct Setup {
    pub prefix: String,
    pub args: CommonArgs,
    pub conn: Connection,
    pub databases: Vec<String>,
}

impl Setup {
    /// A fresh prefix with the shared topology and the dbwriter's queue declared.
    pub async fn new(queue_type: QueueType) -> Setup {
        let prefix = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let mut args = CommonArgs::for_prefix(&prefix);
        args.amqp_url = Some(amqp_url().into());
        args.queue_type = queue_type;
        let conn = Connection::connect(&amqp_url(), ConnectionProperties::default()).await.unwrap();
        let ch = conn.create_channel().await.unwrap();
        let topology = Topology::new(&prefix, queue_type);
        topology.declare_shared(&ch).await.unwrap();
        let queue = ServiceQueue { service: "dbwriter".into(), bindings: vec!["#".into()] };
        topology.declare_service(&ch, &queue, &args.retry_policy()).await.unwrap();
        Setup { prefix, args, conn, databases: Vec::new() }
    }

    pub fn queue(&self) -> String {
        format!("{}.dbwriter", self.prefix)
    }

    /// A database URL whose database does not exist yet; dropped by [`Setup::teardown`].
    pub fn fresh_database(&mut self) -> String {
        let name = format!("eda_bench_{}", uuid::Uuid::new_v4().simple());
        self.databases.push(name.clone());
        format!("{}/{name}", pg_server())
    }

    /// A dbwriter's settings on this run's prefix and a fresh database (its URL too), with the
    /// default batch settings; `DBWRITER_BATCHES_IN_FLIGHT` overrides the writers in flight.
    pub fn dbwriter_config(&mut self) -> (Config, String) {
        let url = self.fresh_database();
        let mut config = Config::for_prefix(&self.prefix, &url);
        config.common = self.args.clone();
        config.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
        if let Ok(n) = std::env::var("DBWRITER_BATCHES_IN_FLIGHT") {
            config.batches_in_flight = n.parse().expect("DBWRITER_BATCHES_IN_FLIGHT: a number from 1 to 16");
        }
        (config, url)
    }

    /// Publishes `n` seed-shaped events with the suite's properties, 1,000 confirms in flight.
    pub async fn fill(&self, n: usize) {
        let started = Instant::now();
        let ch = self.conn.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
        let exchange = format!("{}.events", self.prefix);
        let mut sent = 0;
        while sent < n {
            let mut confirms = Vec::new();
            for i in sent..(sent + 1000).min(n) {
                let env = event(i);
                let id = message_id(&env);
                let props = envelope_properties(&env, &id, "bench");
                let body = env.to_json();
                let key = env.event_type().as_str().to_owned();
                confirms.push(
                    ch.basic_publish(
                        exchange.as_str().into(),
                        key.as_str().into(),
                        BasicPublishOptions::default(),
                        &body,
                        props,
                    )
                    .await
                    .unwrap(),
                );
            }
            sent += confirms.len();
            for c in confirms {
                assert!(c.await.unwrap().is_ack());
            }
        }
        let _ = ch.close(200, "filled".into()).await;
        eprintln!("  filled {n} events in {:.1}s", started.elapsed().as_secs_f64());
        quiesce().await;
    }

    pub async fn teardown(self) {
        let ch = self.conn.create_channel().await.unwrap();
        for q in ["dbwriter", "dead", "unrouted", "retry.dbwriter.1", "retry.dbwriter.2", "retry.dbwriter.3"]
        {
            let _ = ch.queue_delete(format!("{}.{q}", self.prefix).as_str().into(), Default::default()).await;
        }
        for q in ["retry.dbwriter.4", "retry.dbwriter.5", "latency-tap"] {
            let _ = ch.queue_delete(format!("{}.{q}", self.prefix).as_str().into(), Default::default()).await;
        }
        for x in ["events", "retry", "unrouted"] {
            let _ =
                ch.exchange_delete(format!("{}.{x}", self.prefix).as_str().into(), Default::default()).await;
        }
        let mut admin = admin().await;
        for db in &self.databases {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
}

/// Waits until the machine is quiet again after a fill: the broker moves what it just took in
/// from its log to segment files, and the kernel writes that back, for seconds after the last
/// confirm; a drain started meanwhile measures that aftermath, not the drain. Flushes dirty
/// pages, then waits (at most a minute) for a second in which the CPUs are ≥ 85% idle.
pub async fn quiesce() {
    let started = Instant::now();
    let _ = std::process::Command::new("sync").status();
    let mut before = cpu_times();
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let now = cpu_times();
        let idle = match (before, now) {
            (Some((idle0, total0)), Some((idle1, total1))) if total1 > total0 => {
                (idle1 - idle0) as f64 / (total1 - total0) as f64
            }
            _ => 1.0, // not Linux: nothing to wait for
        };
        before = now;
        if idle >= 0.85 || started.elapsed().as_secs() >= 60 {
            eprintln!("  quiet after {:.1}s (idle {:.0}%)", started.elapsed().as_secs_f64(), idle * 100.0);
            return;
        }
    }
}

/// (idle + iowait, total) jiffies of all CPUs, from `/proc/stat`.
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> =
        stat.lines().next()?.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some((idle, fields.iter().sum()))
}

/// Event `i` of the benchmark mix, over a thousand clients. The default mix is a purchase's
/// share of traffic: one `published` (which updates a deployment) for three Kubernetes events
/// (which only append); `BENCH_MIX=published` makes every event a purchase (the worst case).
pub fn event(i: usize) -> Envelope {
    let client = format!("client{}", i % 1000);
    let all_purchases = std::env::var("BENCH_MIX").as_deref() == Ok("published");
    let (app, action) = match i % 4 {
        _ if all_purchases => ("producer", "published"),
        0 => ("producer", "published"),
        1 => ("k8s-event-exporter", "scheduled"),
        2 => ("k8s-event-exporter", "pulled"),
        _ => ("k8s-event-exporter", "started"),
    };
    let body = serde_json::json!({"client": client, "namespace": client, "environment": "development",
        "archtype": "saas", "hardware": "dedicated", "product": "product-a"});
    Envelope::new(
        EventType::new("mycompany", app, &client, action).unwrap(),
        uuid::Uuid::new_v4(),
        body.as_object().unwrap().clone(),
    )
}

/// The message id event `env` would carry: a purchase's a fresh one, as `Publisher::event` makes
/// it; a Kubernetes event's derived from its uid, behind its first time (here: now), as the
/// exporter makes it. Both are time-ordered. `BENCH_IDS=v4` gives random ids to all, as the suite
/// made them before 2026-12-01.
pub fn message_id(env: &Envelope) -> String {
    if std::env::var("BENCH_IDS").as_deref() == Ok("v4") {
        uuid::Uuid::new_v4().to_string()
    } else if env.event_type().app() == "producer" {
        eda_common::message_id::fresh()
    } else {
        // The exporter's SHA-256 of uid and count: as random as these bytes.
        let mut digest = [0u8; 32];
        digest[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        eda_common::message_id::derived_at(Some(chrono::Utc::now()), &digest)
    }
}
