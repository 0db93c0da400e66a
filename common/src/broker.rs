//! One long-lived broker connection per service, kept alive by a supervisor task: capped
//! exponential backoff, heartbeats, the shared topology redeclared on every (re)connect.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::{Connection, ConnectionProperties, Event};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::{redact_url, CommonArgs};
use crate::health::{Health, Readiness};
use crate::metrics::Metrics;
use crate::retry::{Backoff, RetryPolicy};
use crate::topology::{tolerant, Topology, TopologyReport};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The live connection, if any, and a generation that changes with every reconnect.
#[derive(Clone)]
pub struct Link {
    pub generation: u64,
    pub connection: Option<Arc<Connection>>,
}

/// A handle on the service's broker connection; cheap to clone.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

struct Inner {
    url: SecretString,
    service: String,
    company: String,
    topology: Topology,
    retry: RetryPolicy,
    prefetch: u16,
    heartbeat: u16,
    link: watch::Sender<Link>,
    health: Health,
    report: TopologyReport,
    closing: CancellationToken,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("url", &redact_url(self.inner.url.expose_secret()))
            .field("service", &self.inner.service)
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// Starts the supervisor; it connects in the background and reconnects until [`Broker::close`].
    pub fn start(args: &CommonArgs, service: &str, health: &Health) -> Broker {
        let (link, _) = watch::channel(Link { generation: 0, connection: None });
        health.readiness.set("broker", false);
        let broker = Broker {
            inner: Arc::new(Inner {
                url: args.amqp_url(),
                service: service.to_owned(),
                company: args.company.clone(),
                topology: Topology::new(&args.prefix, args.queue_type),
                retry: args.retry_policy(),
                prefetch: args.prefetch,
                heartbeat: args.heartbeat,
                link,
                health: health.clone(),
                report: TopologyReport::new(&args.prefix, health),
                closing: CancellationToken::new(),
            }),
        };
        tokio::spawn(supervise(broker.clone()));
        broker
    }

    pub fn service(&self) -> &str {
        &self.inner.service
    }

    pub fn company(&self) -> &str {
        &self.inner.company
    }

    pub fn topology(&self) -> &Topology {
        &self.inner.topology
    }

    /// What the broker holds differently from eda's declarations (logged, counted, in `/readyz`).
    pub fn topology_report(&self) -> &TopologyReport {
        &self.inner.report
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    pub fn prefetch(&self) -> u16 {
        self.inner.prefetch
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.health.metrics
    }

    pub fn readiness(&self) -> &Readiness {
        &self.inner.health.readiness
    }

    pub fn is_connected(&self) -> bool {
        self.inner.link.borrow().connection.is_some()
    }

    /// A receiver of connection changes.
    pub fn subscribe(&self) -> watch::Receiver<Link> {
        self.inner.link.subscribe()
    }

    /// Waits for a live connection; `None` once `stop` is cancelled or the broker is closing.
    pub async fn connected(&self, stop: &CancellationToken) -> Option<(u64, Arc<Connection>)> {
        let mut rx = self.inner.link.subscribe();
        loop {
            if stop.is_cancelled() || self.inner.closing.is_cancelled() {
                return None;
            }
            {
                let link = rx.borrow_and_update();
                if let Some(conn) = &link.connection {
                    return Some((link.generation, conn.clone()));
                }
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return None },
                () = stop.cancelled() => return None,
                () = self.inner.closing.cancelled() => return None,
            }
        }
    }

    /// Tells the supervisor that `generation` is unusable (a channel could not be opened on it).
    pub fn report_broken(&self, generation: u64) {
        self.inner.link.send_if_modified(|link| {
            if link.generation == generation && link.connection.is_some() {
                link.connection = None;
                true
            } else {
                false
            }
        });
    }

    /// Closes the connection cleanly and stops reconnecting. Call after consumers have drained.
    pub async fn close(&self) {
        self.inner.closing.cancel();
        let conn = self.inner.link.borrow().connection.clone();
        if let Some(conn) = conn {
            let _ = conn.close(200, "service stopping".into()).await;
        }
        self.inner.link.send_modify(|l| l.connection = None);
    }

    fn url_with_heartbeat(&self) -> String {
        let url = self.inner.url.expose_secret();
        if url.contains("heartbeat=") {
            return url.to_owned();
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}heartbeat={}", self.inner.heartbeat)
    }

    async fn connect_once(&self) -> anyhow::Result<Connection> {
        let props = ConnectionProperties::default()
            .with_connection_name(format!("{}.{}", self.inner.topology.prefix(), self.inner.service).into());
        let conn =
            tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(&self.url_with_heartbeat(), props))
                .await
                .map_err(|_| anyhow::anyhow!("connect timed out after {CONNECT_TIMEOUT:?}"))??;
        // What exists with other arguments is used as it is and reported, not retried forever.
        let differences = tolerant::declare(&conn, &self.inner.topology.shared_plan()).await?;
        self.inner.report.record("shared", differences);
        Ok(conn)
    }
}

async fn supervise(broker: Broker) {
    let inner = &broker.inner;
    let redacted = redact_url(inner.url.expose_secret());
    let mut backoff = Backoff::reconnecting();
    let mut generation = 0u64;
    let mut ever_connected = false;
    while !inner.closing.is_cancelled() {
        let conn = match broker.connect_once().await {
            Ok(conn) => Arc::new(conn),
            Err(error) => {
                let delay = backoff.next_delay();
                tracing::warn!(broker = %redacted, error = %error, retry_in_ms = delay.as_millis() as u64, "broker connection failed");
                tokio::select! {
                    () = tokio::time::sleep(delay) => continue,
                    () = inner.closing.cancelled() => break,
                }
            }
        };
        backoff.reset();
        generation += 1;
        if ever_connected {
            inner.health.metrics.reconnects.inc();
        }
        ever_connected = true;
        let mut events = conn.events_listener();
        inner.link.send_replace(Link { generation, connection: Some(conn.clone()) });
        inner.health.metrics.connected.set(1);
        inner.health.readiness.set("broker", true);
        tracing::info!(broker = %redacted, generation, "connected to broker");

        let mut link_rx = inner.link.subscribe();
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Event::Error(error)) if tolerant::is_refused_declaration(&error) && conn.status().connected() => {
                        tracing::debug!(%error, "a declaration was refused; its channel closed, the connection is fine");
                    }
                    Some(Event::Error(error)) => {
                        tracing::warn!(error = %error, generation, "broker connection lost");
                        break;
                    }
                    Some(Event::ConnectionBlocked(reason)) => tracing::warn!(%reason, "broker blocked the connection"),
                    Some(_) => {}
                    None => break,
                },
                changed = link_rx.changed() => {
                    let broken = changed.is_err() || link_rx.borrow().connection.is_none();
                    if broken {
                        tracing::warn!(generation, "broker connection reported broken");
                        break;
                    }
                }
                () = inner.closing.cancelled() => break,
            }
        }
        inner.health.metrics.connected.set(0);
        inner.health.readiness.set("broker", false);
        inner.link.send_modify(|l| {
            if l.generation == generation {
                l.connection = None;
            }
        });
        if !inner.closing.is_cancelled() {
            let _ =
                tokio::time::timeout(Duration::from_secs(1), conn.close(320, "reconnecting".into())).await;
        }
    }
    tracing::debug!("broker supervisor stopped");
}
