//! The provisioner's errors, each classified where it arises: transient (the runtime retries
//! with backoff: API 409/429/5xx, connection errors, timeouts, a busy helm) or permanent (the
//! order or the catalog can never work: invalid names, 400/403/404/422, chart not found,
//! a Flux `InstallFailed`). Messages are written for the person reading the `failed` event.

use eda_common::delivery::HandlerError;

use crate::order::OrderError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid order: {0}")]
    Order(#[from] OrderError),
    #[error("Kubernetes API: {action}: {source}")]
    Kube { action: String, source: kube::Error },
    #[error("helm {command} failed: {reason}")]
    Helm { command: &'static str, transient: bool, reason: String },
    #[error("HelmRelease {name}: {reason}: {message}")]
    FluxFailed { name: String, reason: String, message: String },
    #[error("HelmRelease {name} not ready within {waited:?}: {last}")]
    FluxTimeout { name: String, waited: std::time::Duration, last: String },
    #[error("publishing `{action}` failed: {source}")]
    Publish { action: &'static str, source: eda_common::publisher::PublishError },
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("{what}: every one of {attempts} writes lost a race with another writer")]
    Conflict { what: String, attempts: usize },
    /// The provisioner is not set up for what the order needs (a flag is missing).
    #[error("{0}")]
    Config(String),
    #[error("tenant database: {action}: {source}")]
    Database { action: &'static str, source: sqlx::Error },
}

impl Error {
    pub fn kube(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Kube { action: action.into(), source }
    }

    pub fn database(action: &'static str, source: sqlx::Error) -> Self {
        Error::Database { action, source }
    }

    /// Whether trying again later can help.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Order(_) | Error::FluxFailed { .. } | Error::Config(_) => false,
            Error::Database { source, .. } => database_is_transient(source),
            Error::Kube { source, .. } => kube_is_transient(source),
            Error::Helm { transient, .. } => *transient,
            Error::FluxTimeout { .. } | Error::Publish { .. } | Error::Io { .. } | Error::Conflict { .. } => {
                true
            }
        }
    }

    /// The short name of the class, for metrics labels.
    pub fn class(&self) -> &'static str {
        if self.is_transient() {
            "transient"
        } else {
            "permanent"
        }
    }
}

impl From<Error> for HandlerError {
    fn from(e: Error) -> Self {
        if e.is_transient() {
            HandlerError::transient(e.reason())
        } else {
            HandlerError::permanent(e.reason())
        }
    }
}

impl Error {
    /// The message for people: a Tenant's condition, a `failed` event, a dead letter.
    pub fn reason(&self) -> String {
        match self {
            // The API's own message says what was refused; kube's Display adds Debug noise.
            Error::Kube { action, source: kube::Error::Api(status) } => {
                format!("Kubernetes API: {action}: {} {}: {}", status.code, status.reason, status.message)
            }
            other => other.to_string(),
        }
    }
}

/// 409 (conflict), 429 (throttled) and 5xx are worth retrying, as are connection problems
/// and timeouts; 400/403/404/422 mean the request itself is wrong (or the API, such as the
/// Flux CRD, is not installed) and will be refused again.
pub fn kube_is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) => matches!(status.code, 0 | 409 | 429 | 500..=599),
        kube::Error::BuildRequest(_) | kube::Error::SerdeError(_) => false,
        _ => true,
    }
}

/// A server that is down, restarting, overloaded or racing another writer is worth retrying
/// (connection errors, timeouts; SQLSTATE classes 08, 53, 57, 40, and a duplicate object
/// another replica just made); a refusal (permissions, a bad name) is not.
fn database_is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            ["08", "53", "57", "40"].iter().any(|class| code.starts_with(class))
                || code == "42710"
                || code == "42P04"
        }
        sqlx::Error::Configuration(_) | sqlx::Error::Tls(_) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status::failure("nope", "Reason").with_code(code)))
    }

    #[test]
    fn api_answers_are_classified_by_status_code() {
        for code in [409, 429, 500, 503] {
            assert!(kube_is_transient(&api(code)), "{code}");
        }
        for code in [400, 403, 404, 422] {
            assert!(!kube_is_transient(&api(code)), "{code}");
        }
    }

    #[test]
    fn a_permanent_api_error_carries_the_api_message() {
        let e: HandlerError = Error::kube("apply Namespace cliente02", api(422)).into();
        assert_eq!(e, HandlerError::permanent("Kubernetes API: apply Namespace cliente02: 422 Reason: nope"));
    }
}
