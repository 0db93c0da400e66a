//! Errors of the consumer's modes; each names what failed. Handler failures are not here:
//! they are classified at their source as `HandlerError` (transient or permanent).

use std::time::Duration;

/// Why a mode could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("--exec {command:?}: {reason}")]
    Exec { command: String, reason: String },
    #[error("--webhook {url:?}: {reason}")]
    Webhook { url: String, reason: String },
    #[error("{flag} {value:?} cannot be part of an event type: {reason}")]
    Segment { flag: &'static str, value: String, reason: String },
    #[error("the broker was not reachable within {0:?}")]
    Unreachable(Duration),
    #[error("{what}: {source}")]
    Amqp { what: String, source: Box<lapin::Error> },
    #[error("publishing {what}: {source}")]
    Publish { what: String, source: Box<eda_common::publisher::PublishError> },
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    #[error("the management API at {url}: {reason} ({})", if *retry_helps { "retrying may help" } else { "retrying will not help" })]
    Management { url: String, reason: String, retry_helps: bool },
    #[error("{count} topology difference(s) break a guarantee of eda: apply the fixes printed above, then check again")]
    TopologyBroken { count: usize },
    #[error(transparent)]
    Http(#[from] eda_common::service::ServeError),
}

impl Error {
    pub(crate) fn amqp(what: impl Into<String>) -> impl FnOnce(lapin::Error) -> Error {
        let what = what.into();
        move |source| Error::Amqp { what, source: Box::new(source) }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
