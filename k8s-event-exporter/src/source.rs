//! The event watch: `events.k8s.io/v1` when the API serves it, else `core/v1`, turned into
//! [`Item`]s on a bounded channel. When the channel is full the watch is not polled: that
//! is the back-pressure on the API while the broker is slow or down.

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsV1Event;
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::{status_code, KubeContext, Result};
use crate::kube_event::KubeEvent;
use crate::metrics::ExporterMetrics;

/// What the watch tells the publisher, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A (re)list starts: the events that follow until [`Item::Listed`] come in no order.
    Relisting,
    /// The list is complete; what follows comes in resourceVersion order.
    Listed,
    /// An event was added or changed.
    Event(Box<KubeEvent>),
    /// An event was deleted (its resourceVersion still moves the watermark).
    Deleted(Option<u64>),
}

/// Which API the events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsApi {
    EventsV1,
    CoreV1,
}

/// `events.k8s.io/v1` if discovery lists it, else `core/v1`.
pub async fn discover(client: &Client) -> Result<EventsApi> {
    let groups = client.list_api_groups().await.doing(|| "listing API groups (discovery)".into())?;
    let served = groups
        .groups
        .iter()
        .any(|g| g.name == "events.k8s.io" && g.versions.iter().any(|v| v.version == "v1"));
    Ok(if served { EventsApi::EventsV1 } else { EventsApi::CoreV1 })
}

/// Watches every event in the cluster until `stop`, or until the publisher is gone.
pub async fn watch(
    client: Client,
    api: EventsApi,
    tx: mpsc::Sender<Item>,
    metrics: ExporterMetrics,
    stop: CancellationToken,
) {
    match api {
        EventsApi::EventsV1 => watch_kind::<EventsV1Event>(client, tx, metrics, stop).await,
        EventsApi::CoreV1 => watch_kind::<CoreEvent>(client, tx, metrics, stop).await,
    }
}

async fn watch_kind<K>(
    client: Client,
    tx: mpsc::Sender<Item>,
    metrics: ExporterMetrics,
    stop: CancellationToken,
) where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
    for<'a> KubeEvent: From<&'a K>,
{
    let stream = watcher(Api::<K>::all(client), watcher::Config::default()).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let mut started = false;
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            () = stop.cancelled() => return,
        };
        let item = match next {
            None => return,
            Some(Err(error)) => {
                metrics.watch_errors.inc();
                if is_gone(&error) {
                    metrics.watch_expired.inc();
                }
                tracing::warn!(%error, "event watch failed; the watcher backs off and resumes");
                continue;
            }
            Some(Ok(watcher::Event::Init)) => {
                if started {
                    metrics.watch_restarts.inc();
                }
                started = true;
                Item::Relisting
            }
            Some(Ok(watcher::Event::InitDone)) => Item::Listed,
            Some(Ok(watcher::Event::InitApply(e) | watcher::Event::Apply(e))) => {
                Item::Event(Box::new(KubeEvent::from(&e)))
            }
            Some(Ok(watcher::Event::Delete(e))) => Item::Deleted(KubeEvent::from(&e).resource_version),
        };
        // Awaiting here while the channel is full is the back-pressure: the watch waits.
        let sent = tokio::select! {
            sent = tx.send(item) => sent,
            () = stop.cancelled() => return,
        };
        if sent.is_err() {
            return;
        }
    }
}

/// A 410 Gone: the watch's resourceVersion is older than the API server's history (etcd
/// compacted it), so the watcher starts over with a list.
fn is_gone(error: &watcher::Error) -> bool {
    match error {
        watcher::Error::WatchError(status) => status.code == 410,
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => status_code(e) == Some(410),
        watcher::Error::NoResourceVersion => false,
    }
}
