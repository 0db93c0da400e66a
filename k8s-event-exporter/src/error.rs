//! Errors of the exporter. Every Kubernetes API failure is transient here: the exporter
//! backs off and tries again (watch, lease, watermark), and never drops an event for it.

/// What went wrong, naming the object or step.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API call failed while {doing}: {source}")]
    Kube {
        doing: String,
        #[source]
        source: kube::Error,
    },
    #[error("the state ConfigMap {name} has a watermark that is not a resourceVersion number: {value:?}")]
    BadWatermark { name: String, value: String },
    #[error(transparent)]
    Serve(#[from] eda_common::service::ServeError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds what the exporter was doing to a kube error.
pub trait KubeContext<T> {
    fn doing(self, doing: impl FnOnce() -> String) -> Result<T>;
}

impl<T> KubeContext<T> for std::result::Result<T, kube::Error> {
    fn doing(self, doing: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Kube { doing: doing(), source })
    }
}

/// The HTTP status of an API answer, if the error is one (409 Conflict, 404, …).
pub fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}
