//! What a fault scenario runs against: a fresh prefix and database, a dbwriter process (so it
//! can really be killed), a load publisher that retries until confirmed, and counts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eda_common::config::CommonArgs;
use eda_common::health::{Health, Readiness};
use eda_common::metrics::Metrics;
use eda_common::publisher::Outgoing;
use eda_common::{Broker, Envelope, EventType, Publisher};
use sqlx::{Connection, PgConnection};
use tokio::process::{Child, Command};

pub const PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432";
pub const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const RETRY_DELAYS: &str = "200ms,1s";

/// One scenario's world.
pub struct World {
    pub prefix: String,
    pub db_name: String,
    pub bin_dir: PathBuf,
    pub publisher: Publisher,
    broker: Broker,
    /// The brokers the load goes to (`AMQP_URL` syntax: one, or a cluster's comma-separated).
    amqp: String,
}

/// A service process (a dbwriter, a provisioner) and its HTTP address.
pub struct Service {
    pub child: Child,
    pub http: SocketAddr,
}

impl World {
    pub async fn new(name: &str, bin_dir: PathBuf) -> anyhow::Result<World> {
        World::on(name, bin_dir, AMQP, Duration::from_secs(10)).await
    }

    /// A world whose load goes to `amqp`, each publish confirmed within `publish_timeout`.
    pub async fn on(
        name: &str,
        bin_dir: PathBuf,
        amqp: &str,
        publish_timeout: Duration,
    ) -> anyhow::Result<World> {
        let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let prefix = format!("fault-{name}-{tag}");
        let db_name = format!("eda_fault_{}_{tag}", name.replace('-', "_"));
        let mut args = CommonArgs::for_prefix(&prefix);
        args.amqp_url = Some(amqp.to_string().into());
        // The same levels the dbwriter is started with: a queue's arguments must match on redeclare.
        args.retry_delays = eda_common::config::parse_delays(RETRY_DELAYS).map_err(anyhow::Error::msg)?;
        let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new("fault-load")) };
        let broker = Broker::start(&args, "fault-load", &health);
        let publisher = Publisher::new(&broker, publish_timeout);
        Ok(World { prefix, db_name, bin_dir, publisher, broker, amqp: amqp.to_owned() })
    }

    pub fn database_url(&self) -> String {
        format!("{PG_SERVER}/{}", self.db_name)
    }

    /// Starts a dbwriter on a free port, through `amqp` (the broker, or a proxy in front of it).
    pub async fn start_dbwriter(&self, amqp: &str, heartbeat: u16) -> anyhow::Result<Service> {
        self.start_service("dbwriter", amqp, heartbeat, &[("DATABASE_URL", self.database_url())]).await
    }

    /// Starts the release binary `binary` of this world's prefix on a free port with `env`
    /// besides the shared settings, and waits until `/readyz` answers 200. Its log goes to the
    /// temporary directory, named after the prefix, the binary and the port.
    pub async fn start_service(
        &self,
        binary: &str,
        amqp: &str,
        heartbeat: u16,
        env: &[(&str, String)],
    ) -> anyhow::Result<Service> {
        let http = free_port()?;
        let log_name = format!("{}-{binary}-{}.log", self.prefix, http.port());
        let log = std::fs::File::create(std::env::temp_dir().join(log_name))?;
        let mut command = Command::new(self.bin_dir.join(binary));
        command
            .env("AMQP_URL", amqp)
            .env("EDA_PREFIX", &self.prefix)
            .env("HTTP_ADDR", http.to_string())
            .env("EDA_HEARTBEAT", heartbeat.to_string())
            .env("EDA_RETRY_DELAYS", RETRY_DELAYS)
            .env("RUST_LOG", "warn");
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()?;
        let d = Service { child, http };
        d.wait_ready(Duration::from_secs(120)).await?;
        Ok(d)
    }

    /// (rows, distinct orders) of this scenario's load in `events`; (0, 0) while unreachable.
    pub async fn stored(&self) -> (i64, i64) {
        let Ok(mut conn) = PgConnection::connect(&self.database_url()).await else { return (0, 0) };
        let counts = sqlx::query_as::<_, (i64, i64)>(
            "SELECT count(*), count(DISTINCT body->>'seq') FROM events WHERE app = 'faultload'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap_or((0, 0));
        let _ = conn.close().await;
        counts
    }

    /// Waits until `n` distinct orders are stored (polling the database: it has no event to await).
    pub async fn wait_stored(&self, n: i64, within: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let (_, distinct) = self.stored().await;
            if distinct >= n {
                return Ok(started.elapsed());
            }
            if started.elapsed() > within {
                anyhow::bail!("only {distinct} of {n} orders stored after {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Declares `<prefix>.dbwriter` as the dbwriter does, so orders can queue before it starts.
    pub async fn declare_dbwriter_queue(&self) -> anyhow::Result<()> {
        let stop = tokio_util::sync::CancellationToken::new();
        let (_, conn) = self.broker.connected(&stop).await.ok_or_else(|| anyhow::anyhow!("no broker"))?;
        let ch = conn.create_channel().await?;
        let queue =
            eda_common::topology::ServiceQueue { service: "dbwriter".into(), bindings: vec!["#".into()] };
        self.broker.topology().declare_shared(&ch).await?;
        self.broker.topology().declare_service(&ch, &queue, self.broker.retry_policy()).await?;
        let _ = ch.close(200, "declared".into()).await;
        Ok(())
    }

    /// Waits until `<prefix>.dead` holds `n` messages (polling: the queue has no event to await).
    pub async fn wait_dead(&self, n: u32, within: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        while self.dead_lettered().await < n {
            if started.elapsed() > within {
                anyhow::bail!(
                    "only {} of {n} messages dead-lettered after {within:?}",
                    self.dead_lettered().await
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    /// Messages parked in `<prefix>.dead`.
    pub async fn dead_lettered(&self) -> u32 {
        let stop = tokio_util::sync::CancellationToken::new();
        let Some((_, conn)) = self.broker.connected(&stop).await else { return 0 };
        let Ok(ch) = conn.create_channel().await else { return 0 };
        let opts = lapin::options::QueueDeclareOptions { passive: true, ..Default::default() };
        let n = ch
            .queue_declare(format!("{}.dead", self.prefix).as_str().into(), opts, Default::default())
            .await
            .map(|q| q.message_count())
            .unwrap_or(0);
        let _ = ch.close(200, "".into()).await;
        n
    }

    /// Publishes orders `range` with stable message ids, retrying each window until confirmed
    /// (a resend after a lost confirm is a duplicate the dbwriter must drop).
    pub async fn publish_orders(&self, range: std::ops::Range<usize>, rate: u32) -> anyhow::Result<()> {
        self.publish_windows(range, rate, |i| {
            self.publisher.event_with_id(&order(i), &order_id(&self.prefix, i))
        })
        .await
    }

    /// Publishes `make(i)` for every `i` of `range` in windows of 200 at `rate` a second (0: as
    /// fast as confirms come), each window again until the broker confirmed all of it.
    pub async fn publish_windows(
        &self,
        range: std::ops::Range<usize>,
        rate: u32,
        make: impl Fn(usize) -> Outgoing,
    ) -> anyhow::Result<()> {
        let window = 200usize;
        let started = Instant::now();
        let mut next = range.start;
        while next < range.end {
            let end = (next + window).min(range.end);
            loop {
                let batch = (next..end).map(&make).collect();
                match self.publisher.send_all(batch).await {
                    Ok(()) => break,
                    Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
                }
            }
            next = end;
            if rate > 0 {
                let due = Duration::from_secs_f64((next - range.start) as f64 / f64::from(rate));
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
        }
        Ok(())
    }

    pub async fn finish(self) {
        self.broker.close().await;
        if let Ok(mut admin) = PgConnection::connect(&format!("{PG_SERVER}/postgres")).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.db_name))
                .execute(&mut admin)
                .await;
        }
        let stop = tokio_util::sync::CancellationToken::new();
        let first = self.amqp.split(',').next().unwrap_or(AMQP).to_owned();
        if let Ok(conn) = lapin::Connection::connect(&first, Default::default()).await {
            if let Ok(ch) = conn.create_channel().await {
                for q in ["dead", "unrouted", "dbwriter", "retry.dbwriter.1", "retry.dbwriter.2"] {
                    let _ = ch
                        .queue_delete(format!("{}.{q}", self.prefix).as_str().into(), Default::default())
                        .await;
                }
                for x in ["events", "retry", "unrouted"] {
                    let _ = ch
                        .exchange_delete(format!("{}.{x}", self.prefix).as_str().into(), Default::default())
                        .await;
                }
            }
            let _ = conn.close(200, "".into()).await;
        }
        drop(stop);
    }
}

impl Service {
    pub async fn wait_ready(&self, within: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        while started.elapsed() < within {
            if http_status(self.http, "/readyz").await == Some(200) {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("service not ready within {within:?}")
    }

    pub fn signal(&self, sig: &str) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").args([sig, &pid.to_string()]).status();
        }
    }
}

/// An order of the fault load: seq in the body, a stable id per (prefix, seq).
pub fn order(seq: usize) -> Envelope {
    let client = format!("fault{}", seq % 50);
    let body = serde_json::json!({"client": client, "namespace": client, "product": "product-a", "seq": seq});
    let et = EventType::new("mycompany", "faultload", &client, "published").expect("valid event type");
    Envelope::new(et, uuid::Uuid::new_v4(), body.as_object().cloned().unwrap_or_default())
}

pub fn order_id(prefix: &str, seq: usize) -> String {
    format!("{prefix}-order-{seq}")
}

fn free_port() -> std::io::Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    l.local_addr()
}

async fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    String::from_utf8_lossy(&buf).split_whitespace().nth(1)?.parse().ok()
}
