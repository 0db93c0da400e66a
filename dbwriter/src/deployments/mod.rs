//! The state of each client deployment, computed from its events so that replays, duplicates and
//! any arrival order give the same answer.
//!
//! A deployment is keyed by `(namespace, release)`; the release is the product. Its status is
//! the event that wins among the events of its current cycle:
//! - the cycle starts at the newest `published` (a purchase; a re-purchase after a cancellation
//!   starts a new cycle). Events older than it belong to an earlier cycle and are ignored;
//! - within the cycle the highest rank wins (published 1 < provisioning 2 < provisioned 3 =
//!   failed 3 < cancelled 4 < deprovisioned 5), then the later event time, then the message id.
//!
//! `superseded` (the provisioner acked a stale order without effect, DESIGN.md §8) is an event
//! of the deployment too, kept in its history, but it changes no state: it never wins, never
//! starts a cycle, never names the product or environment, and alone makes no deployment.
//!
//! Being a function of the set of events, never of their order, the status never moves back.

mod sql;

use chrono::{DateTime, Utc};
use eda_common::Envelope;
use uuid::Uuid;

pub use sql::apply;

/// A deployment status, in the order a deployment moves through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Published,
    Provisioning,
    Provisioned,
    Failed,
    Cancelled,
    Deprovisioned,
}

impl Status {
    /// The status an event action sets, if it is one of the deployment actions.
    pub fn from_action(action: &str) -> Option<Status> {
        Some(match action {
            "published" => Status::Published,
            "provisioning" => Status::Provisioning,
            "provisioned" => Status::Provisioned,
            "failed" => Status::Failed,
            "cancelled" => Status::Cancelled,
            "deprovisioned" => Status::Deprovisioned,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Published => "published",
            Status::Provisioning => "provisioning",
            Status::Provisioned => "provisioned",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::Deprovisioned => "deprovisioned",
        }
    }

    /// Progress within a cycle; `provisioned` and `failed` are alternative outcomes.
    pub fn rank(self) -> u8 {
        match self {
            Status::Published => 1,
            Status::Provisioning => 2,
            Status::Provisioned | Status::Failed => 3,
            Status::Cancelled => 4,
            Status::Deprovisioned => 5,
        }
    }
}

/// What an event of a deployment does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// It sets this status when it wins.
    Sets(Status),
    /// `superseded`: an order older than the tenant's newest one was ignored. Part of the
    /// deployment's history, but it changes nothing.
    Superseded,
}

impl Kind {
    /// The kind of an event action, if the action is one of a deployment's.
    pub fn from_action(action: &str) -> Option<Kind> {
        match action {
            "superseded" => Some(Kind::Superseded),
            _ => Status::from_action(action).map(Kind::Sets),
        }
    }

    /// The status it sets; `None` for an event that changes nothing.
    pub fn status(self) -> Option<Status> {
        match self {
            Kind::Sets(status) => Some(status),
            Kind::Superseded => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sets(status) => status.as_str(),
            Kind::Superseded => "superseded",
        }
    }
}

/// The primary key of a `deployments` row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeploymentKey {
    pub namespace: String,
    pub release: String,
}

/// The deployment an event is about, if it is one of a deployment's: a deployment action
/// ([`Kind`]), a release (the body's `release`, else its `product`) and a namespace (the body's
/// `namespace`, else the client). `failed` and `superseded` count only from the provisioner:
/// another service failing on a purchase (a mailer, a consumer engine) says nothing about the
/// deployment, and only the provisioner judges orders stale.
pub fn key_of(env: &Envelope) -> Option<DeploymentKey> {
    let event_type = env.event_type();
    let kind = Kind::from_action(event_type.action())?;
    let provisioner_only = matches!(kind, Kind::Sets(Status::Failed) | Kind::Superseded);
    if provisioner_only && event_type.app() != "provisioner" {
        return None;
    }
    let release = env.body_str("release").or_else(|| env.body_str("product"))?;
    let namespace = env.body_str("namespace").unwrap_or(event_type.client());
    if release.is_empty() || namespace.is_empty() {
        return None;
    }
    Some(DeploymentKey { namespace: namespace.to_owned(), release: release.to_owned() })
}

/// One stored event of a deployment, as its history is read back.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub kind: Kind,
    pub at: DateTime<Utc>,
    pub message_id: String,
    pub trace_id: Uuid,
    pub event_type: String,
    pub client: String,
    pub product: Option<String>,
    pub environment: Option<String>,
}

/// The current state of one deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Current<'a> {
    /// The status the winner sets.
    pub status: Status,
    /// The deciding event (always one that sets a status).
    pub winner: &'a HistoryEvent,
    pub cycle_started_at: Option<DateTime<Utc>>,
    /// The newest product and environment named in the cycle (a `deprovisioned` may not repeat them).
    pub product: Option<&'a str>,
    pub environment: Option<&'a str>,
}

/// The status the events of one deployment add up to; `None` without an event that sets one
/// (no events, or only `superseded`: those are skipped before anything is decided).
pub fn current(history: &[HistoryEvent]) -> Option<Current<'_>> {
    let setting = || history.iter().filter_map(|e| Some((e.kind.status()?, e)));
    let cycle_started_at = setting().filter(|(s, _)| *s == Status::Published).map(|(_, e)| e.at).max();
    let in_cycle = || setting().filter(move |(_, e)| cycle_started_at.is_none_or(|start| e.at >= start));
    let (status, winner) = in_cycle()
        .max_by(|(sa, a), (sb, b)| (sa.rank(), a.at, &a.message_id).cmp(&(sb.rank(), b.at, &b.message_id)))?;
    let newest = |field: fn(&HistoryEvent) -> Option<&str>| {
        in_cycle()
            .map(|(_, e)| e)
            .filter(|e| field(e).is_some())
            .max_by_key(|e| (e.at, &e.message_id))
            .and_then(field)
    };
    Some(Current {
        status,
        winner,
        cycle_started_at,
        product: newest(|e| e.product.as_deref()),
        environment: newest(|e| e.environment.as_deref()),
    })
}

#[cfg(test)]
mod tests;
