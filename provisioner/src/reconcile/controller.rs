//! Driving the reconciler in `--mode apply`: compete for the Lease; while holding it, run a
//! kube-runtime controller over this installation's Tenants (label `eda.io/prefix`), one
//! reconcile per Tenant at a time, each requeued when its [`Next`] says. Losing the lease (or
//! failing to renew it before the renew deadline) stops the controller, killing a running
//! helm; the next leader finds its release `pending-*` and recovers it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eda_common::shutdown::Shutdown;
use futures_util::StreamExt;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::watcher;
use kube::Api;

use super::lease::LeaseLock;
use super::{Next, Reconciler};
use crate::deploy::Deployer;
use crate::error::Error;
use crate::tenants::TenantResource;

/// How long a stopping controller may finish the reconciles it started before they are dropped.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Leads (or stands by) until `shutdown`; gives the lease up on the way out.
pub async fn lead<D: Deployer>(
    reconciler: Arc<Reconciler<D>>,
    lease: LeaseLock,
    api: Api<TenantResource>,
    concurrency: usize,
    shutdown: Shutdown,
) {
    while wait_for_lease(&lease, &shutdown).await {
        tracing::info!(lease = %lease.name, identity = %lease.identity, "leading: reconciling Tenants");
        reconciler.metrics.set_leader(true);
        let stop = shutdown.child_token();
        let run = tokio::spawn(run_controller(reconciler.clone(), api.clone(), concurrency, stop.clone()));
        let why = hold(&lease, &shutdown, &run).await;
        reconciler.metrics.set_leader(false);
        stop.cancel();
        let abort = run.abort_handle();
        if tokio::time::timeout(STOP_GRACE, run).await.is_err() {
            abort.abort();
        }
        tracing::info!(lease = %lease.name, why, "stopped leading");
    }
    if let Err(e) = lease.release().await {
        tracing::warn!(error = %e, "could not give the lease up; a standby takes it when it expires");
    }
}

/// Tries for the lease every retry period; `false` on shutdown.
async fn wait_for_lease(lease: &LeaseLock, shutdown: &Shutdown) -> bool {
    loop {
        if shutdown.is_cancelled() {
            return false;
        }
        match lease.try_acquire_or_renew().await {
            Ok(true) => return true,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the lease; trying again"),
        }
        tokio::select! {
            () = tokio::time::sleep(lease.retry_period()) => {}
            () = shutdown.cancelled() => return false,
        }
    }
}

/// Renews the lease while the controller runs; says why it stopped.
async fn hold(lease: &LeaseLock, shutdown: &Shutdown, run: &tokio::task::JoinHandle<()>) -> &'static str {
    let mut renewed = Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep(lease.retry_period()) => {}
            () = shutdown.cancelled() => return "shutdown",
        }
        if run.is_finished() {
            return "the controller ended";
        }
        match lease.try_acquire_or_renew().await {
            Ok(true) => renewed = Instant::now(),
            Ok(false) => return "another replica holds the lease",
            Err(e) if renewed.elapsed() >= lease.renew_deadline() => {
                tracing::warn!(error = %e, "could not renew the lease before its deadline");
                return "the lease could not be renewed";
            }
            Err(e) => tracing::warn!(error = %e, "could not renew the lease; trying again"),
        }
    }
}

async fn run_controller<D: Deployer>(
    reconciler: Arc<Reconciler<D>>,
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

async fn reconcile_one<D: Deployer>(
    tenant: Arc<TenantResource>,
    r: Arc<Reconciler<D>>,
) -> Result<Action, Error> {
    match r.reconcile(tenant.name()).await? {
        Next::Now => Ok(Action::requeue(Duration::from_millis(10))),
        Next::After(wait) | Next::Waiting(wait) => Ok(Action::requeue(wait)),
    }
}

/// A reconcile that could not even write its status (the API is down): try again soon.
fn error_policy<D: Deployer>(tenant: Arc<TenantResource>, error: &Error, _: Arc<Reconciler<D>>) -> Action {
    tracing::warn!(tenant = tenant.name(), error = %error.reason(), "reconcile could not record its outcome");
    Action::requeue(Duration::from_secs(2))
}
