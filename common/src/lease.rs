//! Leader election on a `coordination.k8s.io/v1` Lease with optimistic concurrency: one
//! replica at a time does the work (the exporter's publishing, the provisioner's reconciling). A replica takes the Lease when it is free (no holder)
//! or has not been renewed for its duration as observed on this replica's own clock (so
//! clock skew between nodes does not matter), by replacing it at the resourceVersion it
//! read; a 409 means another replica won.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A Lease call failed (a 409, another replica winning, is no error).
#[derive(Debug, thiserror::Error)]
#[error("Kubernetes API call failed while {doing}: {source}")]
pub struct LeaseError {
    pub doing: String,
    #[source]
    pub source: kube::Error,
}

type Result<T> = std::result::Result<T, LeaseError>;

trait Doing<T> {
    fn doing(self, doing: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Doing<T> for std::result::Result<T, kube::Error> {
    fn doing(self, doing: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| LeaseError { doing: doing(), source })
    }
}

/// Settings of the election.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    pub duration: Duration,
    pub renew: Duration,
}

/// Until when this replica's hold on the Lease is certain: two thirds of the duration after the
/// start of its last successful renewal, the moment a leader that could not renew steps down.
/// The work checks it right before a step another replica must never overlap (the
/// provisioner's helm runs): a leader frozen (SIGSTOP, a VM paused) past it may have been
/// replaced, and learns so only at its next renewal; on waking, this says so at once.
#[derive(Debug, Clone, Default)]
pub struct Tenure {
    until: Arc<Mutex<Option<Instant>>>,
}

impl Tenure {
    /// Whether the hold is certain now.
    pub fn current(&self) -> bool {
        self.current_at(Instant::now())
    }

    fn current_at(&self, now: Instant) -> bool {
        self.until.lock().expect("tenure lock").is_some_and(|until| now < until)
    }

    fn renewed(&self, started: Instant, certain_for: Duration) {
        *self.until.lock().expect("tenure lock") = Some(started + certain_for);
    }

    fn ended(&self) {
        *self.until.lock().expect("tenure lock") = None;
    }
}

/// One replica's view of the Lease.
pub struct Election {
    api: Api<Lease>,
    settings: LeaseSettings,
    /// The Lease version last seen held by someone else, and when it was first seen.
    observed: Option<(String, Instant)>,
    tenure: Tenure,
}

impl Election {
    pub fn new(client: Client, settings: LeaseSettings) -> Self {
        Election {
            api: Api::namespaced(client, &settings.namespace),
            settings,
            observed: None,
            tenure: Tenure::default(),
        }
    }

    /// This replica's [`Tenure`], kept current by [`Election::run`].
    pub fn tenure(&self) -> Tenure {
        self.tenure.clone()
    }

    /// Campaigns and renews until `stop`; `leader` says whether this replica holds the Lease.
    /// A leader that cannot renew for two thirds of the duration steps down before the Lease
    /// can expire for the others. On stop, a held Lease is released for a fast hand-over.
    pub async fn run(mut self, leader: watch::Sender<bool>, stop: CancellationToken) {
        let deadline = self.settings.duration.mul_f64(2.0 / 3.0);
        let mut last_renewal: Option<Instant> = None;
        loop {
            let asked = Instant::now();
            let held = match self.try_acquire_or_renew().await {
                Ok(true) => {
                    last_renewal = Some(Instant::now());
                    self.tenure.renewed(asked, deadline);
                    true
                }
                Ok(false) => {
                    self.tenure.ended();
                    false
                }
                Err(error) => {
                    tracing::warn!(%error, "lease election call failed");
                    last_renewal.is_some_and(|at| at.elapsed() < deadline)
                }
            };
            if leader.send_if_modified(|l| std::mem::replace(l, held) != held) {
                tracing::info!(identity = %self.settings.identity, leader = held, "leadership changed");
            }
            tokio::select! {
                () = tokio::time::sleep(self.settings.renew) => {}
                () = stop.cancelled() => break,
            }
        }
        self.tenure.ended();
        if *leader.borrow() {
            leader.send_replace(false);
            if let Err(error) = self.release().await {
                tracing::warn!(%error, "could not release the lease; it expires by itself");
            }
        }
    }

    /// One round: create, renew, or take over an expired Lease. `Ok(true)`: this replica holds it.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool> {
        let name = self.settings.name.clone();
        let doing = || format!("reading Lease {name}");
        let Some(lease) = self.api.get_opt(&name).await.doing(doing)? else {
            let created = self.api.create(&PostParams::default(), &self.lease(None, 0, None)).await;
            return won(created, || format!("creating Lease {name}"));
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let rv = lease.metadata.resource_version.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let transitions = spec.lease_transitions.unwrap_or(0);
        if holder.as_deref() == Some(self.settings.identity.as_str()) {
            let renewed = self.lease(Some(rv), transitions, spec.acquire_time.clone());
            return won(self.api.replace(&name, &PostParams::default(), &renewed).await, || {
                format!("renewing Lease {name}")
            });
        }
        if self.observed.as_ref().is_none_or(|(seen, _)| *seen != rv) {
            self.observed = Some((rv.clone(), Instant::now()));
        }
        let held_for = spec
            .lease_duration_seconds
            .map_or(self.settings.duration, |s| Duration::from_secs(u64::try_from(s).unwrap_or(0)));
        let expired = self.observed.as_ref().is_some_and(|(_, since)| since.elapsed() >= held_for);
        if holder.is_some() && !expired {
            return Ok(false);
        }
        let taken = self.lease(Some(rv), transitions + 1, None);
        won(self.api.replace(&name, &PostParams::default(), &taken).await, || format!("taking Lease {name}"))
    }

    /// Gives the Lease up so another replica takes it at once.
    async fn release(&self) -> Result<()> {
        let name = &self.settings.name;
        let Some(mut lease) = self.api.get_opt(name).await.doing(|| format!("reading Lease {name}"))? else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        self.api
            .replace(name, &PostParams::default(), &lease)
            .await
            .doing(|| format!("releasing Lease {name}"))?;
        Ok(())
    }

    fn lease(
        &self,
        resource_version: Option<String>,
        transitions: i32,
        acquired: Option<MicroTime>,
    ) -> Lease {
        let now = MicroTime(Timestamp::now());
        Lease {
            metadata: ObjectMeta {
                name: Some(self.settings.name.clone()),
                resource_version,
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.settings.identity.clone()),
                lease_duration_seconds: Some(
                    i32::try_from(self.settings.duration.as_secs().max(1)).unwrap_or(15),
                ),
                acquire_time: Some(acquired.unwrap_or_else(|| now.clone())),
                renew_time: Some(now),
                lease_transitions: Some(transitions),
                ..LeaseSpec::default()
            }),
        }
    }
}

/// 2xx: won; 409 (AlreadyExists or Conflict): another replica won; anything else: an error.
fn won(answer: std::result::Result<Lease, kube::Error>, doing: impl FnOnce() -> String) -> Result<bool> {
    match answer {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(source) => Err(LeaseError { doing: doing(), source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenure_is_certain_until_two_thirds_of_the_lease_after_the_renewal_was_asked() {
        let tenure = Tenure::default();
        let asked = Instant::now();
        assert!(!tenure.current_at(asked), "never renewed: not held");
        tenure.renewed(asked, Duration::from_secs(10));
        assert!(tenure.current_at(asked + Duration::from_millis(9_999)));
        // A leader frozen past it wakes to a tenure that is over, before any renewal.
        assert!(!tenure.current_at(asked + Duration::from_secs(10)));
        assert!(!tenure.current_at(asked + Duration::from_secs(60)));
        tenure.renewed(asked + Duration::from_secs(60), Duration::from_secs(10));
        assert!(tenure.clone().current_at(asked + Duration::from_secs(61)), "clones share it");
        tenure.ended();
        assert!(!tenure.current_at(asked + Duration::from_secs(61)), "lost or given up");
    }
}
