//! Writing a Tenant's status: its phase, its conditions (`Ready` with a reason), and the
//! failure path (capped backoff; `Failed` and one `failed` event after `max_retries`).

use chrono::{SecondsFormat, Utc};

use super::{Next, Reconciler};
use crate::error::{Error, Result};
use crate::events;
use crate::tenants::{Condition, Phase, TenantResource, TenantStatus};

/// A condition of `type_`, its transition time now ([`TenantStatus::set_condition`] keeps the
/// previous one when the status is unchanged).
pub fn condition(
    type_: &str,
    status: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: if status { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: Some(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)),
    }
}

impl Reconciler {
    /// Writes a status in the tenant's current order: `phase`, `Ready` and whatever `edit` sets.
    pub(super) async fn set_status(
        &self,
        tenant: &TenantResource,
        phase: Phase,
        reason: &str,
        message: impl Into<String>,
        edit: impl FnOnce(&mut TenantStatus),
    ) -> Result<TenantStatus> {
        let previous = tenant.status();
        let mut status = previous.clone();
        if !previous.observes(&tenant.spec.order.id) {
            status.attempts = 0;
        }
        status.phase = Some(phase);
        status.observed_order = Some(tenant.spec.order.id.clone());
        // `Ready` is `True` only when the tenant is provisioned.
        status.set_condition(condition(
            "Ready",
            phase == Phase::Provisioned,
            reason,
            message,
            tenant.metadata.generation,
        ));
        edit(&mut status);
        self.store.write_status(tenant.name(), &status).await?;
        let mut memory = self.memory();
        memory.phases.insert(tenant.name().to_string(), phase);
        self.metrics.set_phases(&memory.phases);
        Ok(status)
    }

    /// An attempt failed: count it, retry after a capped delay, or after `max_retries` (or
    /// at once for a permanent error) mark the tenant `Failed` and publish `failed` once.
    pub(super) async fn failed_attempt(&self, tenant: &TenantResource, error: &Error) -> Result<Next> {
        let message = error.reason();
        if !self.still_wanted(tenant).await? {
            // A newer order arrived while this one failed: its failure no longer matters.
            tracing::info!(tenant = tenant.name(), error = %message, "attempt failed after a newer order arrived");
            return Ok(Next::Now);
        }
        let status = tenant.status();
        let attempts = if status.observes(&tenant.spec.order.id) { status.attempts + 1 } else { 1 };
        let gives_up = !error.is_transient() || attempts >= self.max_retries;
        tracing::warn!(tenant = tenant.name(), trace_id = %tenant.spec.trace_id, attempts, gives_up,
            error = %message, "reconcile failed");
        if !gives_up {
            let phase = status
                .phase
                .filter(|_| status.observes(&tenant.spec.order.id))
                .unwrap_or(Phase::Provisioning);
            let phase = match (tenant.spec.desired, phase) {
                (crate::tenants::Desired::Absent, _) => Phase::Deprovisioning,
                (_, Phase::Provisioned | Phase::Failed) => Phase::Provisioning,
                (_, other) => other,
            };
            let reason = format!("Retrying{}", if error.is_transient() { "" } else { "Permanent" });
            self.set_status(tenant, phase, &reason, message, |s| s.attempts = attempts).await?;
            return Ok(Next::After(self.delay(attempts)));
        }
        let already_failed = status.observes(&tenant.spec.order.id) && status.phase == Some(Phase::Failed);
        if !already_failed {
            let order = tenant.spec.order();
            let event = events::failed(&self.company, &order, &tenant.spec.order, &message);
            self.publish(&event, &tenant.spec.order.id, "failed").await?;
        }
        let reason = if error.is_transient() { "RetriesExhausted" } else { "PermanentError" };
        self.set_status(tenant, Phase::Failed, reason, message, |s| s.attempts = attempts).await?;
        Ok(Next::After(self.resync))
    }
}
