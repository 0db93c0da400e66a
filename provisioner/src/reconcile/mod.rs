//! The reconciler: brings a tenant's namespace, baseline and release to its Tenant's spec,
//! writes the status and publishes `provisioning`, `provisioned`, `failed` and
//! `deprovisioned` once per phase change, with ids derived from the order id and the phase
//! (so a failover that repeats a step publishes a twin downstream drops). It re-reads the
//! spec between steps: a newer order stops the work at the next step. See DESIGN.md §8 and
//! docs/provisioner.md.

mod absent;
pub mod controller;
mod present;
pub use present::release_hash;
mod status;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use eda_common::lease::Tenure;
use eda_common::{Envelope, Publisher};
use tracing::Instrument as _;

use crate::catalog::Catalog;
use crate::catalog::DatabaseSpec;
use crate::database::TenantDatabases;
use crate::error::{Error, Result};
use crate::events;
use crate::metrics::ProvisionerMetrics;
use crate::target::Target;
use crate::tenants::{Desired, Phase, TenantResource, TenantStore};

/// What the reconciler needs; one per installation, shared by its workers.
pub struct Reconciler {
    pub store: TenantStore,
    /// Apply or plan.
    pub target: Target,
    pub catalog: Arc<Catalog>,
    pub publisher: Publisher,
    pub company: String,
    pub metrics: ProvisionerMetrics,
    /// Failed attempts at one order before the tenant is `Failed`.
    pub max_retries: u32,
    /// Delays between attempts; the last one caps them.
    pub retry_delays: Vec<Duration>,
    /// How often a settled tenant is checked for drift.
    pub resync: Duration,
    /// A `pending-*` release older than this is abandoned and recovered.
    pub abandoned_after: Duration,
    /// The platform PostgreSQL, for products with a database.
    pub databases: TenantDatabases,
    memory: Mutex<Memory>,
    /// The Lease's hold while leading in apply mode (unset in plan mode: nothing to overlap).
    tenure: OnceLock<Tenure>,
}

/// What the reconciler remembers between passes (lost on restart, which costs one pass).
#[derive(Default)]
struct Memory {
    /// When each settled tenant was last checked for drift.
    checked: HashMap<String, Instant>,
    /// The baseline objects' resourceVersions after the last apply, per tenant.
    baseline: HashMap<String, Vec<String>>,
    /// The phase of each tenant, for the `eda_provisioner_tenants` gauge.
    phases: HashMap<String, Phase>,
}

/// When to look at a tenant again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// At once: the spec changed under the work.
    Now,
    /// After a delay (a retry, or the next resync).
    After(Duration),
    /// After a delay, waiting for something outside (a release another helm may still hold).
    Waiting(Duration),
}

impl Reconciler {
    pub fn new(
        store: TenantStore,
        target: Target,
        catalog: Arc<Catalog>,
        publisher: Publisher,
        company: String,
        metrics: ProvisionerMetrics,
        settings: ReconcileSettings,
    ) -> Self {
        Reconciler {
            store,
            target,
            catalog,
            publisher,
            company,
            metrics,
            max_retries: settings.max_retries.max(1),
            retry_delays: if settings.retry_delays.is_empty() {
                vec![Duration::from_secs(5)]
            } else {
                settings.retry_delays
            },
            resync: settings.resync,
            abandoned_after: settings.abandoned_after,
            databases: settings.databases,
            memory: Mutex::default(),
            tenure: OnceLock::new(),
        }
    }

    /// Runs helm only while `tenure` is certain (set once, by the controller that leads).
    pub fn lead_under(&self, tenure: Tenure) {
        if self.tenure.set(tenure).is_err() {
            tracing::warn!("the reconciler already leads under a Lease; the second one is ignored");
        }
    }

    /// `Some(wait)` when this replica may no longer be the leader: its hold on the Lease is not
    /// certain (frozen past the renew deadline, or lost), so a helm run now could overlap the
    /// next leader's. The election notices at its next round and stops the controller.
    fn not_leading(&self, name: &str) -> Option<Next> {
        let tenure = self.tenure.get()?;
        if tenure.current() {
            return None;
        }
        tracing::warn!(tenant = name, "not running helm: this replica's hold on the Lease is not certain");
        Some(Next::Waiting(Duration::from_secs(1)))
    }

    /// One pass over one tenant.
    pub async fn reconcile(&self, name: &str) -> Result<Next> {
        let started = Instant::now();
        let Some(tenant) = self.store.get(name).await? else {
            self.forget(name);
            return Ok(Next::After(self.resync));
        };
        let status = tenant.status();
        let settled = status.observes(&tenant.spec.order.id)
            && matches!(status.phase, Some(Phase::Provisioned | Phase::Deprovisioned | Phase::Failed));
        if settled {
            if let Some(wait) = self.resync_wait(name) {
                return Ok(Next::After(wait));
            }
        }
        let resync = settled && matches!(status.phase, Some(Phase::Provisioned | Phase::Deprovisioned));
        let span = pass_span(&tenant, resync);
        let (operation, outcome) = match tenant.spec.desired {
            Desired::Present => ("provision", self.present(&tenant, resync).instrument(span.clone()).await),
            Desired::Absent => ("deprovision", self.absent(&tenant, resync).instrument(span.clone()).await),
        };
        let next = match outcome {
            Ok(next) => {
                let label = match next {
                    Next::Now => "superseded",
                    Next::Waiting(_) => "waiting",
                    Next::After(_) => "ok",
                };
                self.metrics.reconciled(label, started.elapsed());
                if !resync && matches!(next, Next::After(_)) {
                    self.metrics.record(operation, "ok", started.elapsed());
                }
                next
            }
            Err(error) => {
                self.metrics.reconciled(error.class(), started.elapsed());
                self.metrics.record(operation, error.class(), started.elapsed());
                self.failed_attempt(&tenant, &error).instrument(span).await?
            }
        };
        if next != Next::Now {
            self.memory().checked.insert(name.to_string(), Instant::now());
        }
        Ok(next)
    }

    /// How long until a settled tenant's next drift check, or `None` if it is due.
    fn resync_wait(&self, name: &str) -> Option<Duration> {
        let checked = *self.memory().checked.get(name)?;
        self.resync.checked_sub(checked.elapsed()).filter(|wait| !wait.is_zero())
    }

    /// Whether the tenant's spec still names this order (re-read between steps).
    async fn still_wanted(&self, tenant: &TenantResource) -> Result<bool> {
        let current = self.store.get(tenant.name()).await?;
        Ok(current
            .is_some_and(|c| c.spec.order == tenant.spec.order && c.spec.desired == tenant.spec.desired))
    }

    /// Publishes an event of the tenant's order with an id derived from the order and phase.
    async fn publish(&self, envelope: &Envelope, order_id: &str, action: &'static str) -> Result<()> {
        let id = events::derived_id(order_id, action);
        self.publisher
            .send(self.publisher.event_with_id(envelope, &id))
            .await
            .map_err(|source| Error::Publish { action, source })
    }

    /// The `database:` of the order's product, if it asks for one.
    fn product_database(&self, order: &crate::order::Order) -> Option<&DatabaseSpec> {
        self.catalog.products.get(&order.tenant.product)?.database.as_ref()
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().expect("the reconciler's memory is never poisoned")
    }

    fn forget(&self, name: &str) {
        let mut memory = self.memory();
        memory.checked.remove(name);
        memory.baseline.remove(name);
        memory.phases.remove(name);
        self.metrics.set_phases(&memory.phases);
    }

    fn delay(&self, attempts: u32) -> Duration {
        let index = (attempts.max(1) as usize - 1).min(self.retry_delays.len() - 1);
        self.retry_delays[index]
    }
}

/// The span of one pass. A pass for an order is in the purchase's trace, under the span that
/// recorded the order (the Tenant's `eda.io/traceparent`); its helm runs, applies and events
/// nest under it. A resync is routine, not part of the purchase: a debug span, so neither logs
/// nor traces carry one a tenant every resync unless `RUST_LOG` asks (then it links to the
/// purchase's trace).
fn pass_span(tenant: &TenantResource, resync: bool) -> tracing::Span {
    let order_span = tenant.order_span();
    let trace_id = uuid::Uuid::parse_str(&tenant.spec.trace_id).ok();
    if resync {
        let span = tracing::debug_span!("resync", tenant = %tenant.name(), trace_id = %tenant.spec.trace_id);
        eda_common::telemetry::link_to(&span, order_span);
        return span;
    }
    let span = tracing::info_span!("reconcile",
        otel.name = %format_args!("reconcile {}", tenant.spec.desired.as_str()),
        tenant = %tenant.name(), trace_id = %tenant.spec.trace_id, order = %tenant.spec.order.id);
    if let Some(trace_id) = trace_id {
        eda_common::telemetry::continue_trace(&span, trace_id, order_span, &tenant.spec.order.id);
    }
    span
}

/// The reconciler's settings, from the provisioner's [`crate::Config`].
#[derive(Debug, Clone)]
pub struct ReconcileSettings {
    pub max_retries: u32,
    pub retry_delays: Vec<Duration>,
    pub resync: Duration,
    pub abandoned_after: Duration,
    pub databases: TenantDatabases,
}
