//! Every exchange and queue name, derived from one prefix, and their idempotent declaration:
//! what eda needs ([`plan`]), how the broker may differ ([`difference`]), declaring while
//! tolerating what exists ([`tolerant`]), reporting it once ([`report`]) and the policies that
//! fix what arguments cannot ([`policy`]).

pub mod difference;
pub mod plan;
pub mod policy;
pub mod report;
pub mod tolerant;

use lapin::types::ShortString;
use lapin::Channel;

pub use difference::{Difference, Found, Impact};
pub use plan::{Object, Plan, Role};
pub use report::TopologyReport;

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
    pub fn as_str(self) -> &'static str {
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
    /// `x-quorum-initial-group-size` of the quorum queues declared; `None`: the broker's default.
    quorum_size: Option<u16>,
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
        Topology { prefix: prefix.to_owned(), queue_type, quorum_size: None }
    }

    /// The same names, quorum queues declared with `size` replicas (`EDA_QUORUM_SIZE`).
    pub fn with_quorum_size(self, size: Option<u16>) -> Self {
        Topology { quorum_size: size, ..self }
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

    /// Declares the shared part: both exchanges, `dead`, `unrouted`. Idempotent; refuses
    /// (an error) what exists with other arguments — services use [`tolerant::declare`].
    pub async fn declare_shared(&self, channel: &Channel) -> lapin::Result<()> {
        tolerant::declare_strict(channel, &self.shared_plan()).await
    }

    /// Declares a service's queue, its bindings and one delay queue per retry level. Idempotent.
    pub async fn declare_service(
        &self,
        channel: &Channel,
        queue: &ServiceQueue,
        retry: &RetryPolicy,
    ) -> lapin::Result<()> {
        tolerant::declare_strict(channel, &self.service_plan(queue, retry)).await
    }

    pub fn queue_type(&self) -> QueueType {
        self.queue_type
    }

    pub fn quorum_size(&self) -> Option<u16> {
        self.quorum_size
    }
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

#[cfg(test)]
mod classification_tests;
