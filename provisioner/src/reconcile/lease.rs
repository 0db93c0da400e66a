//! One active reconciler per installation: a `coordination.k8s.io/v1` Lease, taken when free
//! or expired and renewed by its holder, every write guarded by its resourceVersion so two
//! replicas cannot both take it. There is no fencing: a holder that stops renewing steps
//! down before the lease expires for others (see [`LeaseLock::renew_deadline`]), so an
//! overlap needs clock skew beyond that margin, and even then every effect is idempotent and
//! ordered by the Tenant's spec, not by who runs it.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

use crate::error::{Error, Result};

/// A Lease this replica competes for.
#[derive(Clone)]
pub struct LeaseLock {
    api: Api<Lease>,
    pub name: String,
    pub identity: String,
    pub duration: Duration,
}

impl std::fmt::Debug for LeaseLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseLock").field("name", &self.name).field("identity", &self.identity).finish()
    }
}

impl LeaseLock {
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: &str,
        identity: &str,
        duration: Duration,
    ) -> Self {
        LeaseLock {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
            identity: identity.to_string(),
            duration: duration.max(Duration::from_secs(3)),
        }
    }

    /// How often the holder renews, and a candidate tries.
    pub fn retry_period(&self) -> Duration {
        self.duration / 3
    }

    /// A holder that has not renewed for this long steps down: two thirds of the lease, so it
    /// stops before anyone else may take it.
    pub fn renew_deadline(&self) -> Duration {
        self.duration * 2 / 3
    }

    /// Takes the lease if it is free or expired, renews it if held; whether this replica
    /// holds it afterwards. Losing a race (409) is "not held", never an error.
    pub async fn try_acquire_or_renew(&self) -> Result<bool> {
        let now = MicroTime(Timestamp::now());
        let seconds = i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX);
        let current = self.api.get_opt(&self.name).await.map_err(|e| self.error("get", e))?;
        let Some(mut lease) = current else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(self.name.clone()), ..ObjectMeta::default() },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return self.settle(self.api.create(&PostParams::default(), &lease).await, "create");
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let held_by_me = spec.holder_identity.as_deref() == Some(self.identity.as_str());
        if !held_by_me {
            let free = spec.holder_identity.as_deref().is_none_or(str::is_empty);
            let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
                (Some(renewed), Some(seconds)) => {
                    let until = renewed.0.as_second() + i64::from(seconds);
                    until < Timestamp::now().as_second()
                }
                _ => true,
            };
            if !free && !expired {
                return Ok(false);
            }
            spec.holder_identity = Some(self.identity.clone());
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.lease_duration_seconds = Some(seconds);
        spec.renew_time = Some(now);
        self.settle(self.api.replace(&self.name, &PostParams::default(), &lease).await, "update")
    }

    /// Gives the lease up (on shutdown), so a standby takes over at once.
    pub async fn release(&self) -> Result<()> {
        let Some(mut lease) = self.api.get_opt(&self.name).await.map_err(|e| self.error("get", e))? else {
            return Ok(());
        };
        let Some(spec) = lease.spec.as_mut() else { return Ok(()) };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.renew_time = None;
        self.settle(self.api.replace(&self.name, &PostParams::default(), &lease).await, "release").map(drop)
    }

    fn settle(&self, written: kube::Result<Lease>, verb: &str) -> Result<bool> {
        match written {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(self.error(verb, e)),
        }
    }

    fn error(&self, verb: &str, e: kube::Error) -> Error {
        Error::kube(format!("{verb} Lease {}", self.name), e)
    }
}
