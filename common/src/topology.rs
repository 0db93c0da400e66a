//! Every exchange and queue name, derived from one prefix, and their idempotent declaration.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};

use crate::retry::RetryPolicy;

/// Queue type of the queues eda declares (`EDA_QUEUE_TYPE`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueType {
    /// Replicated, durable, the default for production.
    #[default]
    Quorum,
    /// Single-node queues, for small installations and benchmarks.
    Classic,
}

impl QueueType {
    fn as_str(self) -> &'static str {
        match self {
            QueueType::Quorum => "quorum",
            QueueType::Classic => "classic",
        }
    }
}

/// The names of one eda installation (DESIGN.md §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    prefix: String,
    queue_type: QueueType,
}

/// A service's own queue and what it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceQueue {
    /// The consuming service (`dbwriter`, or a consumer engine's `--name`).
    pub service: String,
    /// Routing-key patterns bound on `<prefix>.events`.
    pub bindings: Vec<String>,
}

impl Topology {
    pub fn new(prefix: &str, queue_type: QueueType) -> Self {
        Topology { prefix: prefix.to_owned(), queue_type }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>.events`: the topic exchange every event goes through.
    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.prefix)
    }

    /// `<prefix>.retry`: the direct exchange delayed retries go through.
    pub fn retry_exchange(&self) -> String {
        format!("{}.retry", self.prefix)
    }

    /// `<prefix>.dead`: the parking lot.
    pub fn dead_queue(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    /// `<prefix>.unrouted`: exchange and queue for events no service is bound for.
    pub fn unrouted(&self) -> String {
        format!("{}.unrouted", self.prefix)
    }

    /// `<prefix>.<service>`: a consuming service's queue.
    pub fn service_queue(&self, service: &str) -> String {
        format!("{}.{service}", self.prefix)
    }

    /// `<prefix>.retry.<service>.<level>`: where a message waits before its retry.
    pub fn retry_queue(&self, service: &str, level: usize) -> String {
        format!("{}.retry.{service}.{level}", self.prefix)
    }

    fn queue_args(&self) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), long_string(self.queue_type.as_str()));
        args
    }

    /// Declares the shared part: both exchanges, `dead`, `unrouted`. Idempotent.
    pub async fn declare_shared(&self, channel: &Channel) -> lapin::Result<()> {
        let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
        let unrouted = self.unrouted();
        channel
            .exchange_declare(unrouted.as_str().into(), ExchangeKind::Fanout, durable, FieldTable::default())
            .await?;
        self.declare_queue(channel, &unrouted, self.queue_args()).await?;
        channel
            .queue_bind(
                unrouted.as_str().into(),
                unrouted.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;

        let mut events_args = FieldTable::default();
        events_args.insert("alternate-exchange".into(), long_string(&unrouted));
        channel
            .exchange_declare(
                self.events_exchange().as_str().into(),
                ExchangeKind::Topic,
                durable,
                events_args,
            )
            .await?;
        channel
            .exchange_declare(
                self.retry_exchange().as_str().into(),
                ExchangeKind::Direct,
                durable,
                FieldTable::default(),
            )
            .await?;
        self.declare_queue(channel, &self.dead_queue(), self.queue_args()).await?;
        Ok(())
    }

    /// Declares a service's queue, its bindings and one delay queue per retry level. Idempotent.
    pub async fn declare_service(
        &self,
        channel: &Channel,
        queue: &ServiceQueue,
        retry: &RetryPolicy,
    ) -> lapin::Result<()> {
        let name = self.service_queue(&queue.service);
        self.declare_queue(channel, &name, self.queue_args()).await?;
        for pattern in &queue.bindings {
            channel
                .queue_bind(
                    name.as_str().into(),
                    self.events_exchange().as_str().into(),
                    pattern.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        for (i, delay) in retry.levels().iter().enumerate() {
            let level = i + 1;
            let retry_queue = self.retry_queue(&queue.service, level);
            let mut args = self.queue_args();
            let ttl = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ttl));
            args.insert("x-dead-letter-exchange".into(), long_string(""));
            args.insert("x-dead-letter-routing-key".into(), long_string(&name));
            if self.queue_type == QueueType::Quorum {
                // Without these, a quorum queue dead-letters at most once: a retry could vanish.
                args.insert("x-dead-letter-strategy".into(), long_string("at-least-once"));
                args.insert("x-overflow".into(), long_string("reject-publish"));
            }
            self.declare_queue(channel, &retry_queue, args).await?;
            channel
                .queue_bind(
                    retry_queue.as_str().into(),
                    self.retry_exchange().as_str().into(),
                    retry_queue.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    }

    async fn declare_queue(&self, channel: &Channel, name: &str, args: FieldTable) -> lapin::Result<()> {
        let options = QueueDeclareOptions { durable: true, ..Default::default() };
        channel.queue_declare(name.into(), options, args).await.map(|_| ())
    }
}

fn long_string(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

/// A header name as lapin wants it.
pub fn short(s: &str) -> ShortString {
    ShortString::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_derives_from_the_prefix() {
        let t = Topology::new("t42", QueueType::Quorum);
        assert_eq!(t.events_exchange(), "t42.events");
        assert_eq!(t.retry_exchange(), "t42.retry");
        assert_eq!(t.dead_queue(), "t42.dead");
        assert_eq!(t.unrouted(), "t42.unrouted");
        assert_eq!(t.service_queue("dbwriter"), "t42.dbwriter");
        assert_eq!(t.retry_queue("dbwriter", 3), "t42.retry.dbwriter.3");
    }
}
