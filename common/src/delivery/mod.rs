//! The delivery runtime (`eda_common::delivery`; not to be confused with the `consumer`
//! service): prefetch, manual acks after the effect is durable, delayed retries to
//! the failing queue only, dead-lettering with the reason, batches, reconnects, graceful stop.
//!
//! A handler classifies its own failures ([`HandlerError`]); the runtime acts on that class:
//! transient → `<prefix>.retry.<service>.<level>` with `retrace_intent` + 1, or the dead-letter
//! queue once retries are exhausted; permanent → the dead-letter queue at once.

mod batch;
mod message;
mod session;
mod settle;
mod single;

use std::future::Future;
use std::time::Duration;

pub use batch::run_batches;
pub use message::{headers_of, Message};
pub use settle::{dead_letter, DEAD_ERROR, DEAD_FAILED_AT, DEAD_QUEUE};
pub use single::run;

use crate::envelope::Envelope;
use crate::topology::ServiceQueue;

/// Why a handler could not finish, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// A dependency is unavailable (broker, database, API 409/429/5xx, timeout): retry later.
    #[error("{0}")]
    Transient(String),
    /// The message itself is wrong (malformed, unknown product, invalid name): never retry.
    #[error("{0}")]
    Permanent(String),
}

impl HandlerError {
    pub fn transient(reason: impl std::fmt::Display) -> Self {
        HandlerError::Transient(reason.to_string())
    }

    pub fn permanent(reason: impl std::fmt::Display) -> Self {
        HandlerError::Permanent(reason.to_string())
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, HandlerError::Transient(_))
    }

    pub fn reason(&self) -> &str {
        match self {
            HandlerError::Transient(r) | HandlerError::Permanent(r) => r,
        }
    }
}

/// Business code for one message at a time. Returns the follow-up events to publish; the
/// message is acked only after they are all confirmed.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, message: &Message) -> impl Future<Output = Result<Vec<Envelope>, HandlerError>> + Send;
}

/// Business code that wants many messages at once (one database transaction per batch).
pub trait BatchHandler: Send + Sync + 'static {
    /// One result per message, in order. `Err` for the whole batch means an outage (database
    /// down): nothing is acked, the same batch is offered again after a backoff.
    fn handle_batch(
        &self,
        messages: &[Message],
    ) -> impl Future<Output = Result<Vec<Result<(), HandlerError>>, HandlerError>> + Send;
}

/// What a consuming service reads and how.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    pub queue: ServiceQueue,
    /// Messages handled at once (1 keeps delivery order).
    pub concurrency: usize,
    /// Publish `<company>.<service>.event.<client>.failed` when a message is given up.
    pub emit_failed: bool,
}

/// Batch limits. Batches are group commits (see `run_batches`): handed over as soon as the
/// handler is free, with up to `max_size` deliveries that gathered meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct BatchSpec {
    pub max_size: usize,
    /// The longest a delivery may wait for its batch while the handler is idle (`--batch-wait`).
    /// Group commit never waits for a timer, so this bound always holds; it is kept so the
    /// contract stays visible in configuration.
    pub max_wait: Duration,
    /// Batches handed to the handler at once (each its own call, so its own transaction), for
    /// a handler whose writes leave the CPU idle part of the time. They are acked in order
    /// whichever finishes first; 1 writes one batch at a time.
    pub in_flight: usize,
}
