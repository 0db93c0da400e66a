//! Driving the reconciler in `--mode apply`: compete for the Lease (`eda_common::lease`, the
//! election the exporter uses too); while holding it, run a kube-runtime controller over this
//! installation's Tenants (label `eda.io/prefix`), one reconcile per Tenant at a time, each
//! requeued when its [`Next`] says. Losing the lease (or failing to renew it before the renew
//! deadline) stops the controller, killing a running helm; the next leader finds its release
//! `pending-*` and recovers it.

use std::sync::Arc;
use std::time::Duration;

use eda_common::lease::{Election, LeaseSettings};
use eda_common::shutdown::Shutdown;
use futures_util::StreamExt;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::watcher;
use kube::Api;
use tokio::sync::watch;

use super::{Next, Reconciler};
use crate::error::Error;
use crate::tenants::TenantResource;

/// How long a stopping controller may finish the reconciles it started before they are dropped.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Leads (or stands by) until `shutdown`; the election gives the lease up on the way out.
pub async fn lead(
    reconciler: Arc<Reconciler>,
    client: kube::Client,
    lease: LeaseSettings,
    concurrency: usize,
    shutdown: Shutdown,
) {
    let (leader_tx, mut leader) = watch::channel(false);
    let election = Election::new(client.clone(), lease);
    reconciler.lead_under(election.tenure());
    let election = tokio::spawn(election.run(leader_tx, shutdown.clone()));
    let api = Api::<TenantResource>::all(client);
    loop {
        // Stand by until this replica leads (or the election ends, at shutdown).
        if leader.wait_for(|leading| *leading).await.is_err() {
            break;
        }
        tracing::info!("leading: reconciling Tenants");
        reconciler.metrics.set_leader(true);
        let stop = shutdown.child_token();
        let run = tokio::spawn(run_controller(reconciler.clone(), api.clone(), concurrency, stop.clone()));
        let abort = run.abort_handle();
        // Lead until the lease is lost or the election ends.
        let lost = leader.wait_for(|leading| !*leading).await.is_ok();
        reconciler.metrics.set_leader(false);
        stop.cancel();
        if tokio::time::timeout(STOP_GRACE, run).await.is_err() {
            abort.abort();
        }
        tracing::info!(lost, "stopped leading");
        if !lost {
            break;
        }
    }
    election.await.ok();
}

async fn run_controller(
    reconciler: Arc<Reconciler>,
    api: Api<TenantResource>,
    concurrency: usize,
    stop: Shutdown,
) {
    let selector = reconciler.store.selector();
    let config =
        controller::Config::default().concurrency(u16::try_from(concurrency.max(1)).unwrap_or(u16::MAX));
    Controller::new(api, watcher::Config::default().labels(&selector))
        .with_config(config)
        .graceful_shutdown_on(async move { stop.cancelled().await })
        .run(reconcile_one, error_policy, reconciler)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "controller");
            }
        })
        .await;
}

async fn reconcile_one(tenant: Arc<TenantResource>, r: Arc<Reconciler>) -> Result<Action, Error> {
    match r.reconcile(tenant.name()).await? {
        Next::Now => Ok(Action::requeue(Duration::from_millis(10))),
        Next::After(wait) | Next::Waiting(wait) => Ok(Action::requeue(wait)),
    }
}

/// A reconcile that could not even write its status (the API is down): try again soon.
fn error_policy(tenant: Arc<TenantResource>, error: &Error, _: Arc<Reconciler>) -> Action {
    tracing::warn!(tenant = tenant.name(), error = %error.reason(), "reconcile could not record its outcome");
    Action::requeue(Duration::from_secs(2))
}
