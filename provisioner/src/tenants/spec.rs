//! What a Tenant holds, and the one rule orders obey: only a newer order changes the spec.

use serde::{Deserialize, Serialize};

use crate::order::{Order, OrderStamp, Tenant};

/// What the newest order asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Desired {
    Present,
    Absent,
}

impl Desired {
    pub fn as_str(self) -> &'static str {
        match self {
            Desired::Present => "present",
            Desired::Absent => "absent",
        }
    }
}

/// The newest order: its message id, event time (RFC 3339, nanoseconds) and event type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRef {
    pub id: String,
    pub time: String,
    /// The order's event type, for the `failed_event_type` of a `failed` the reconciler
    /// publishes; absent on Tenants written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
}

impl OrderRef {
    pub fn of(stamp: &OrderStamp) -> Self {
        OrderRef { id: stamp.id.clone(), time: stamp.time_text(), event_type: None }
    }

    /// The stamp, or `None` for a time that is not RFC 3339 (written by hand): any order
    /// with a readable time is then newer.
    pub fn stamp(&self) -> Option<OrderStamp> {
        OrderStamp::parse(&self.id, &self.time)
    }
}

/// `spec`: the desired state, from the newest order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    pub client: String,
    pub namespace: String,
    pub release: String,
    pub product: String,
    /// Empty for a tombstone made from a `cancelled` that did not say.
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub archtype: String,
    #[serde(default)]
    pub hardware: String,
    #[serde(default)]
    pub trace_id: String,
    pub desired: Desired,
    pub order: OrderRef,
}

impl TenantSpec {
    /// The spec a `published` order asks for.
    pub fn present(order: &Order, archtype: &str, stamp: &OrderStamp) -> Self {
        TenantSpec {
            environment: order.environment.clone(),
            hardware: order.hardware.clone(),
            archtype: archtype.to_string(),
            ..Self::of(&order.tenant, Desired::Present, stamp)
        }
    }

    /// The spec a `cancelled` order asks for; [`merge_order`] keeps what the tenant already knew.
    pub fn absent(tenant: &Tenant, stamp: &OrderStamp) -> Self {
        Self::of(tenant, Desired::Absent, stamp)
    }

    fn of(tenant: &Tenant, desired: Desired, stamp: &OrderStamp) -> Self {
        TenantSpec {
            client: tenant.client.clone(),
            namespace: tenant.namespace.clone(),
            release: tenant.release.clone(),
            product: tenant.product.clone(),
            environment: String::new(),
            archtype: String::new(),
            hardware: String::new(),
            trace_id: tenant.trace_id.to_string(),
            desired,
            order: OrderRef::of(stamp),
        }
    }

    /// Who and what, as the deployers and events know a tenant.
    pub fn tenant(&self) -> Tenant {
        Tenant {
            client: self.client.clone(),
            namespace: self.namespace.clone(),
            product: self.product.clone(),
            release: self.release.clone(),
            trace_id: self.trace_id.parse().unwrap_or_default(),
        }
    }

    /// The purchase, for the baseline, the release and the events.
    pub fn order(&self) -> Order {
        Order {
            tenant: self.tenant(),
            environment: self.environment.clone(),
            hardware: self.hardware.clone(),
            order_span: None,
        }
    }
}

/// An order that is not newer than the tenant's: it changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// The tenant's newest order, which won.
    pub newer: OrderRef,
    pub desired: Desired,
    /// The same order again (a redelivery or a replay of the newest order): not superseded
    /// by anything, so no `superseded` is published for it.
    pub duplicate: bool,
}

/// The spec after an order: the order's, if it is newer than the tenant's (or there is no
/// tenant yet), keeping for a cancellation the purchase details it does not carry.
pub fn merge_order(existing: Option<&TenantSpec>, incoming: TenantSpec) -> Result<TenantSpec, Stale> {
    let Some(existing) = existing else { return Ok(incoming) };
    let newer = match (incoming.order.stamp(), existing.order.stamp()) {
        (Some(incoming), Some(existing)) => incoming.is_newer_than(&existing),
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !newer {
        let duplicate = incoming.order.id == existing.order.id;
        return Err(Stale { newer: existing.order.clone(), desired: existing.desired, duplicate });
    }
    let keep = |new: String, old: &String| if new.is_empty() { old.clone() } else { new };
    Ok(TenantSpec {
        environment: keep(incoming.environment, &existing.environment),
        archtype: keep(incoming.archtype, &existing.archtype),
        hardware: keep(incoming.hardware, &existing.hardware),
        ..incoming
    })
}

/// Where the reconciler has got a tenant to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Provisioning,
    Provisioned,
    Failed,
    Deprovisioning,
    Deprovisioned,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Provisioning => "Provisioning",
            Phase::Provisioned => "Provisioned",
            Phase::Failed => "Failed",
            Phase::Deprovisioning => "Deprovisioning",
            Phase::Deprovisioned => "Deprovisioned",
        }
    }

    pub const ALL: [Phase; 5] =
        [Phase::Provisioning, Phase::Provisioned, Phase::Failed, Phase::Deprovisioning, Phase::Deprovisioned];
}

/// A status condition, as Kubernetes writes them (only `Ready` is used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// `status`: written by the reconciler only. Absent fields serialize as `null`, so that a
/// merge patch of the whole status removes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    #[serde(default)]
    pub phase: Option<Phase>,
    /// The order id `phase` belongs to.
    #[serde(default)]
    pub observed_order: Option<String>,
    /// Failed attempts at the observed order.
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub revision: Option<i64>,
    #[serde(default)]
    pub chart: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    /// SHA-256 of chart, version and values of the deployed release.
    #[serde(default)]
    pub release_hash: Option<String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

impl TenantStatus {
    /// Whether the status is about this order.
    pub fn observes(&self, order_id: &str) -> bool {
        self.observed_order.as_deref() == Some(order_id)
    }

    pub fn ready(&self) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == "Ready")
    }

    /// Sets the condition of its type, keeping the transition time if its status is unchanged
    /// (Kubernetes' convention).
    pub fn set_condition(&mut self, condition: Condition) {
        let previous = self.conditions.iter().position(|c| c.type_ == condition.type_);
        let condition = match previous.map(|i| self.conditions.remove(i)) {
            Some(p) if p.status == condition.status => {
                Condition { last_transition_time: p.last_transition_time, ..condition }
            }
            _ => condition,
        };
        self.conditions.push(condition);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(desired: Desired, id: &str, time: &str) -> TenantSpec {
        TenantSpec {
            client: "c".into(),
            namespace: "c".into(),
            release: "product-a".into(),
            product: "product-a".into(),
            environment: if desired == Desired::Present { "development".into() } else { String::new() },
            archtype: String::new(),
            hardware: if desired == Desired::Present { "dedicated".into() } else { String::new() },
            trace_id: String::new(),
            desired,
            order: OrderRef { id: id.into(), time: time.into(), event_type: None },
        }
    }

    #[test]
    fn a_newer_order_replaces_the_spec_and_an_older_or_equal_one_is_stale() {
        let current = spec(Desired::Absent, "b", "2026-01-01T00:00:02Z");
        let newer = merge_order(Some(&current), spec(Desired::Present, "a", "2026-01-01T00:00:03Z")).unwrap();
        assert_eq!(newer.desired, Desired::Present);
        let stale =
            merge_order(Some(&current), spec(Desired::Present, "a", "2026-01-01T00:00:01Z")).unwrap_err();
        assert_eq!(stale, Stale { newer: current.order.clone(), desired: Desired::Absent, duplicate: false });
        let again = merge_order(Some(&current), current.clone()).unwrap_err();
        assert!(again.duplicate, "a redelivery changes nothing and is no stale order");
        // Equal times: the message id decides.
        assert!(merge_order(Some(&current), spec(Desired::Present, "c", "2026-01-01T00:00:02Z")).is_ok());
        assert!(merge_order(Some(&current), spec(Desired::Present, "a", "2026-01-01T00:00:02Z")).is_err());
    }

    #[test]
    fn a_cancellation_keeps_the_purchase_details_and_a_first_one_is_a_tombstone() {
        let bought = spec(Desired::Present, "a", "2026-01-01T00:00:01Z");
        let cancelled =
            merge_order(Some(&bought), spec(Desired::Absent, "b", "2026-01-01T00:00:02Z")).unwrap();
        assert_eq!((cancelled.desired, cancelled.environment.as_str()), (Desired::Absent, "development"));
        let tombstone = merge_order(None, spec(Desired::Absent, "b", "2026-01-01T00:00:02Z")).unwrap();
        assert_eq!(tombstone.desired, Desired::Absent);
        let late = merge_order(Some(&tombstone), spec(Desired::Present, "a", "2026-01-01T00:00:01Z"));
        assert!(late.is_err(), "a late purchase cannot resurrect a cancelled tenant");
    }

    #[test]
    fn the_spec_serializes_as_the_crd_names_it() {
        let json = serde_json::to_value(spec(Desired::Present, "a", "2026-01-01T00:00:01Z")).unwrap();
        assert_eq!(json["desired"], "present");
        assert_eq!(json["order"]["id"], "a");
        assert!(json.get("traceId").is_some());
        let status = TenantStatus { phase: Some(Phase::Provisioned), ..TenantStatus::default() };
        assert_eq!(serde_json::to_value(status).unwrap()["phase"], "Provisioned");
    }
}
