//! eda-common: what every eda service shares.
//!
//! The wire format ([`envelope`]), the AMQP topology ([`topology`]), a reliable
//! [`publisher`] and its time-ordered [`message_id`]s, the [`consumer`] runtime (ack, retry,
//! dead-letter, batches), config ([`config`]), telemetry ([`telemetry`], [`metrics`],
//! [`health`]) and graceful [`shutdown`].
//!
//! Error policy: each module has a `thiserror` enum whose messages name what failed;
//! errors that reach the consumer runtime are classified at their source as transient
//! (retry with backoff) or permanent (dead-letter now) — see [`delivery::HandlerError`].
//! `anyhow` is for binaries only. Nothing here logs a secret: URLs are redacted first.

pub mod broker;
pub mod client_name;
pub mod config;
pub mod delivery;
pub mod envelope;
pub mod event_type;
pub mod exposition;
pub mod health;
pub mod keyed_lock;
#[cfg(feature = "kube")]
pub mod lease;
pub mod message_id;
pub mod metrics;
pub mod publisher;
pub mod retry;
pub mod service;
pub mod shutdown;
pub mod telemetry;
pub mod text;
pub mod topology;

pub use broker::Broker;
pub use client_name::ClientName;
pub use config::CommonArgs;
pub use envelope::{Envelope, EnvelopeError, PublishedOnForm};
pub use event_type::EventType;
pub use publisher::Publisher;
