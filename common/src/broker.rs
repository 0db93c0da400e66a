//! One long-lived broker connection per service, kept alive by a supervisor task: the brokers
//! of `AMQP_URL` tried in turn, capped exponential backoff once all failed, heartbeats, the
//! shared topology redeclared on every (re)connect.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::{Connection, ConnectionProperties, Event};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::{redact_urls, CommonArgs};
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
    /// The brokers in the order `AMQP_URL` gives them; never empty.
    urls: Vec<SecretString>,
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
            .field("urls", &redact_urls(&self.inner.urls))
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
                urls: args.amqp_urls(),
                service: service.to_owned(),
                company: args.company.clone(),
                topology: Topology::new(&args.prefix, args.queue_type).with_quorum_size(args.quorum_size),
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

    fn url_with_heartbeat(&self, broker: usize) -> String {
        let url = self.inner.urls[broker].expose_secret();
        if url.contains("heartbeat=") {
            return url.to_owned();
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}heartbeat={}", self.inner.heartbeat)
    }

    async fn connect_once(&self, broker: usize) -> anyhow::Result<Connection> {
        let props = ConnectionProperties::default()
            .with_connection_name(format!("{}.{}", self.inner.topology.prefix(), self.inner.service).into());
        let conn = tokio::time::timeout(
            CONNECT_TIMEOUT,
            Connection::connect(&self.url_with_heartbeat(broker), props),
        )
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
    let shown = redact_urls(&inner.urls);
    let mut turn = Turn::new(inner.urls.len());
    let mut backoff = Backoff::reconnecting();
    let mut generation = 0u64;
    let mut ever_connected = false;
    while !inner.closing.is_cancelled() {
        let current = turn.current();
        let redacted = &shown[current];
        let conn = match broker.connect_once(current).await {
            Ok(conn) => Arc::new(conn),
            Err(error) => {
                if turn.next_after_failure() {
                    tracing::warn!(broker = %redacted, error = %error, "broker connection failed; trying the next broker");
                    continue;
                }
                // Every broker failed once in this round: wait before the next round.
                let delay = backoff.next_delay();
                tracing::warn!(broker = %redacted, error = %error, retry_in_ms = delay.as_millis() as u64, "broker connection failed");
                tokio::select! {
                    () = tokio::time::sleep(delay) => continue,
                    () = inner.closing.cancelled() => break,
                }
            }
        };
        backoff.reset();
        turn.connected();
        generation += 1;
        if ever_connected {
            inner.health.metrics.reconnects.inc();
        }
        ever_connected = true;
        let mut events = conn.events_listener();
        inner.link.send_replace(Link { generation, connection: Some(conn.clone()) });
        inner.health.metrics.connected.set(1);
        inner.health.readiness.set("broker", true);
        inner.health.readiness.set_note("broker", Some(redacted.clone()));
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
        inner.health.readiness.set_note("broker", None);
        // The node this connection was on is likely gone: reconnect to the next one first.
        turn.lost();
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

/// Which broker of the list to try: in turn from the first, on from the one that was lost.
#[derive(Debug)]
struct Turn {
    brokers: usize,
    current: usize,
    /// Brokers that failed since the last connection (or the start of this round).
    failed: usize,
}

impl Turn {
    fn new(brokers: usize) -> Self {
        Turn { brokers: brokers.max(1), current: 0, failed: 0 }
    }

    fn current(&self) -> usize {
        self.current
    }

    /// Moves to the next broker; false once every broker failed in this round (a new round starts).
    fn next_after_failure(&mut self) -> bool {
        self.current = (self.current + 1) % self.brokers;
        self.failed += 1;
        if self.failed >= self.brokers {
            self.failed = 0;
            return false;
        }
        true
    }

    fn connected(&mut self) {
        self.failed = 0;
    }

    fn lost(&mut self) {
        self.current = (self.current + 1) % self.brokers;
    }
}

#[cfg(test)]
mod tests {
    use super::Turn;

    #[test]
    fn brokers_are_tried_in_turn_and_a_full_round_of_failures_backs_off() {
        let mut turn = Turn::new(3);
        assert_eq!(turn.current(), 0);
        assert!(turn.next_after_failure(), "the second broker is tried at once");
        assert_eq!(turn.current(), 1);
        assert!(turn.next_after_failure());
        assert!(!turn.next_after_failure(), "all three failed: back off before the next round");
        assert_eq!(turn.current(), 0, "the next round starts again from the first");
    }

    #[test]
    fn a_lost_connection_reconnects_to_the_next_broker_first() {
        let mut turn = Turn::new(3);
        turn.next_after_failure();
        turn.connected();
        turn.lost();
        assert_eq!(turn.current(), 2);
        turn.lost();
        assert_eq!(turn.current(), 0, "after the last comes the first");
        let mut single = Turn::new(1);
        single.lost();
        assert!(!single.next_after_failure(), "one broker: every failure backs off");
        assert_eq!(single.current(), 0);
    }
}
