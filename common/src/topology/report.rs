//! What a running service found different on the broker: logged once each, counted in
//! `eda_topology_differences{object_kind,difference}`, and shown in `/readyz` — under
//! `degraded` while every delivery path works, as the not-ready `reasons` (check `topology`
//! false) when the retry, dead-letter or routing path cannot.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::{Difference, Impact};
use crate::health::{Details, Health};
use crate::metrics::TopologyLabels;

/// The readiness check the report drives.
pub const CHECK: &str = "topology";

/// Differences by declaration scope (the shared part, each service queue); cheap to clone.
#[derive(Clone, Debug)]
pub struct TopologyReport {
    prefix: String,
    health: Health,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    by_scope: BTreeMap<String, Vec<Difference>>,
    logged: BTreeSet<Difference>,
}

impl TopologyReport {
    pub fn new(prefix: &str, health: &Health) -> Self {
        TopologyReport { prefix: prefix.to_owned(), health: health.clone(), state: Arc::default() }
    }

    /// Records what the latest declaration of `scope` found (empty: all as declared).
    pub fn record(&self, scope: &str, differences: Vec<Difference>) {
        let mut state = self.state.lock().expect("topology report poisoned");
        for difference in &differences {
            if state.logged.insert(difference.clone()) {
                self.log(difference);
            }
        }
        state.by_scope.insert(scope.to_owned(), differences);
        let current: BTreeSet<&Difference> = state.by_scope.values().flatten().collect();

        let gauges = &self.health.metrics.topology_differences;
        gauges.clear();
        let mut details = Details::default();
        for difference in &current {
            let labels =
                TopologyLabels { object_kind: difference.role.as_str(), difference: difference.kind() };
            gauges.get_or_create(&labels).inc();
            let entry = self.entry(difference);
            match difference.impact() {
                Impact::Unsafe => details.reasons.push(entry),
                _ => details.degraded.push(entry),
            }
        }
        let safe = details.reasons.is_empty();
        self.health.readiness.set_details(CHECK, details);
        self.health.readiness.set(CHECK, safe);
    }

    /// False while a difference makes the retry, dead-letter or routing path unusable.
    pub fn is_safe(&self) -> bool {
        let state = self.state.lock().expect("topology report poisoned");
        state.by_scope.values().flatten().all(|d| d.impact() != Impact::Unsafe)
    }

    /// Everything currently different, over all scopes.
    pub fn differences(&self) -> Vec<Difference> {
        let state = self.state.lock().expect("topology report poisoned");
        let all: BTreeSet<&Difference> = state.by_scope.values().flatten().collect();
        all.into_iter().cloned().collect()
    }

    fn entry(&self, d: &Difference) -> serde_json::Value {
        serde_json::json!({
            "object": d.object,
            "object_kind": d.role.as_str(),
            "difference": d.kind(),
            "impact": d.impact(),
            "consequence": d.consequence(),
            "fix": d.fix(&self.prefix),
        })
    }

    fn log(&self, d: &Difference) {
        let (object, object_kind, difference) = (&d.object, d.role.as_str(), d.kind());
        let (consequence, fix) = (d.consequence(), d.fix(&self.prefix));
        match d.impact() {
            Impact::Unsafe => tracing::error!(
                object, object_kind, difference, %consequence, %fix,
                "the broker holds {object} with other arguments and eda's delivery guarantees cannot hold: not ready"
            ),
            impact => tracing::warn!(
                object, object_kind, difference, %consequence, %fix, impact = impact.as_str(),
                "the broker holds {object} with other arguments; eda uses it as it is"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use eda_tests::captured::Captured;

    use super::*;
    use crate::health::Readiness;
    use crate::metrics::Metrics;
    use crate::topology::{Found, Role};

    fn no_alternate_exchange() -> Difference {
        Difference {
            role: Role::EventsExchange,
            object: "eda.events".into(),
            found: Found::Argument {
                name: "alternate-exchange".into(),
                expected: Some("eda.unrouted".into()),
                actual: None,
                policy: None,
            },
        }
    }

    fn retry_without_dead_lettering() -> Difference {
        Difference {
            role: Role::RetryQueue,
            object: "eda.retry.billing.1".into(),
            found: Found::Argument {
                name: "x-dead-letter-exchange".into(),
                expected: Some(String::new()),
                actual: None,
                policy: None,
            },
        }
    }

    #[test]
    fn a_difference_found_at_every_reconnect_is_logged_and_counted_once_and_a_safe_one_keeps_the_service_ready(
    ) {
        let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new("billing")) };
        let report = TopologyReport::new("eda", &health);
        let lines = Captured::default();
        tracing::subscriber::with_default(crate::telemetry::json_subscriber(lines.clone()), || {
            report.record("shared", vec![no_alternate_exchange()]);
            report.record("shared", vec![no_alternate_exchange()]);
        });
        let out = lines.text();
        assert_eq!(out.lines().count(), 1, "logged once: {out}");
        let line: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["object"], "eda.events");
        assert!(line["fix"].as_str().unwrap().starts_with("rabbitmqctl set_policy"), "{line}");
        let metrics = health.metrics.encode();
        assert!(
            metrics.contains(
                "eda_topology_differences{service=\"billing\",object_kind=\"events_exchange\",difference=\"alternate_exchange\"} 1"
            ),
            "{metrics}"
        );
        assert_eq!(health.readiness.check(CHECK), Some(true), "a degraded topology keeps the service ready");
        let details = health.readiness.details();
        assert_eq!(details.degraded.len(), 1);
        assert_eq!(details.degraded[0]["impact"], "degraded");
        assert!(details.reasons.is_empty());
    }

    #[test]
    fn an_unsafe_difference_makes_the_service_not_ready_with_the_reason_until_it_is_gone() {
        let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new("billing")) };
        let report = TopologyReport::new("eda", &health);
        report.record("shared", vec![no_alternate_exchange()]);
        report.record("service billing", vec![retry_without_dead_lettering()]);
        assert_eq!(health.readiness.check(CHECK), Some(false));
        let details = health.readiness.details();
        assert_eq!(details.reasons.len(), 1);
        assert_eq!(details.reasons[0]["object"], "eda.retry.billing.1");
        assert!(details.reasons[0]["consequence"].as_str().unwrap().contains("a retry never comes back"));
        assert_eq!(details.degraded.len(), 1, "the safe one is still listed");
        report.record("service billing", vec![]);
        assert_eq!(health.readiness.check(CHECK), Some(true), "a fixed queue makes the service ready again");
        assert!(!health.metrics.encode().contains("retry_queue"), "its gauge is gone");
    }
}
