//! One consume session: a channel on the current connection with the service's queue declared,
//! the prefetch applied and a consumer started. A reconnect opens a new session.

use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use tokio_util::sync::CancellationToken;

use super::settle::SETTLE_TIMEOUT;
use crate::broker::Broker;
use crate::retry::Backoff;
use crate::topology::{tolerant, ServiceQueue};

pub(crate) struct Session {
    pub channel: Channel,
    pub consumer: Consumer,
    tag: String,
}

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// Shutdown was requested; in-flight work is done.
    Stopped,
    /// The channel or connection failed; open a new session.
    Lost,
}

impl Session {
    /// Opens a session, retrying with backoff; `None` once `shutdown` is cancelled.
    pub async fn open(
        broker: &Broker,
        queue: &ServiceQueue,
        prefetch: u16,
        shutdown: &CancellationToken,
    ) -> Option<Session> {
        broker.readiness().set("consumer", false);
        let mut backoff = Backoff::retrying();
        loop {
            let (generation, conn) = broker.connected(shutdown).await?;
            let attempt = async {
                let report = broker.topology_report();
                if !report.is_safe() {
                    // Checked again at each attempt, so a fix made meanwhile is noticed.
                    let shared = tolerant::declare(&conn, &broker.topology().shared_plan()).await?;
                    report.record("shared", shared);
                }
                let plan = broker.topology().service_plan(queue, broker.retry_policy());
                let differences = tolerant::declare(&conn, &plan).await?;
                report.record(&format!("service {}", queue.service), differences);
                if !report.is_safe() {
                    // A retry or dead letter would be lost: leave the messages in the queue.
                    return Ok(None);
                }
                let channel = conn.create_channel().await?;
                // The prefetch is per channel: it must be applied again on every new channel.
                channel.basic_qos(prefetch, BasicQosOptions::default()).await?;
                let tag = format!("eda-{}-{}", queue.service, uuid::Uuid::new_v4().simple());
                let consumer = channel
                    .basic_consume(
                        broker.topology().service_queue(&queue.service).as_str().into(),
                        tag.as_str().into(),
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
                Ok::<_, lapin::Error>(Some(Session { channel, consumer, tag }))
            };
            let failed = match attempt.await {
                Ok(Some(session)) => {
                    broker.readiness().set("consumer", true);
                    tracing::info!(queue = %broker.topology().service_queue(&queue.service), prefetch, "consuming");
                    return Some(session);
                }
                // The report logged why, once; this repeats at every attempt.
                Ok(None) => {
                    tracing::debug!("not consuming while the topology is unsafe");
                    None
                }
                Err(error) => Some(error),
            };
            let delay = backoff.next_delay();
            if let Some(error) = failed {
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "could not start consuming");
                if !conn.status().connected() {
                    broker.report_broken(generation);
                }
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {},
                () = shutdown.cancelled() => return None,
            }
        }
    }

    /// Stops deliveries; what was delivered but not acked goes back to the queue when the channel closes.
    pub async fn cancel(&self) {
        let cancel = self.channel.basic_cancel(self.tag.as_str().into(), BasicCancelOptions::default());
        let _ = tokio::time::timeout(SETTLE_TIMEOUT, cancel).await;
    }

    pub async fn close(self) {
        self.cancel().await;
        let _ =
            tokio::time::timeout(SETTLE_TIMEOUT, self.channel.close(200, "consumer stopping".into())).await;
    }
}
