//! The engine's `Handler`: optional per-client ordering, the business code, the follow-up.

use eda_common::delivery::{Handler, HandlerError, Message};
use eda_common::health::Health;
use eda_common::keyed_lock::KeyedLock;
use eda_common::Envelope;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use super::output::{follow_up, DEFAULT_ACTION};
use super::{check_segment, Exec, Webhook};
use crate::config::RunArgs;
use crate::error::{Error, Result};

/// Where business code lives.
#[derive(Debug)]
pub enum Backend {
    Exec(Exec),
    Webhook(Webhook),
}

impl Backend {
    /// For the start-up log line (never the webhook's credentials).
    pub fn describe(&self) -> String {
        match self {
            Backend::Exec(e) => format!("exec {}", e.program()),
            Backend::Webhook(w) => format!("webhook {}", w.redacted_url()),
        }
    }

    async fn call(
        &self,
        m: &Message,
    ) -> std::result::Result<Option<serde_json::Map<String, serde_json::Value>>, HandlerError> {
        match self {
            Backend::Exec(e) => e.call(m).await,
            Backend::Webhook(w) => w.call(m).await,
        }
    }
}

/// How one run of business code ended (label of `eda_handler_runs_total`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    /// `success`, `transient` or `permanent`.
    outcome: &'static str,
}

/// Runs business code for each message and turns its answer into a follow-up event.
#[derive(Debug)]
pub struct Engine {
    pub name: String,
    pub company: String,
    pub action: String,
    pub backend: Backend,
    /// Per-client serialization when `--ordered`.
    pub ordered: Option<KeyedLock>,
    runs: Family<RunLabels, Counter>,
}

impl Engine {
    /// Validates the flags (name and action are event-type segments, one backend) and registers metrics.
    pub fn from_args(args: &RunArgs, company: &str, health: &Health) -> Result<Engine> {
        check_segment("--name", &args.name)?;
        let action = args.emit.clone().unwrap_or_else(|| DEFAULT_ACTION.to_owned());
        check_segment("--emit", &action)?;
        let backend = match (&args.exec, &args.webhook) {
            (Some(cmd), None) => Backend::Exec(Exec::parse(cmd, args.timeout)?),
            (None, Some(url)) => Backend::Webhook(Webhook::new(url, args.timeout, &args.name)?),
            _ => return Err(Error::Usage("give exactly one of --exec CMD or --webhook URL".into())),
        };
        let runs = Family::<RunLabels, Counter>::default();
        health.metrics.register("handler_runs", "Runs of the business code by outcome", runs.clone());
        Ok(Engine {
            name: args.name.clone(),
            company: company.to_owned(),
            action,
            backend,
            ordered: args.ordered.then(KeyedLock::new),
            runs,
        })
    }
}

impl Handler for Engine {
    async fn handle(&self, m: &Message) -> std::result::Result<Vec<Envelope>, HandlerError> {
        // Held across the call so two events of one client never run at once (see docs: order).
        let _turn = match &self.ordered {
            Some(locks) => Some(locks.lock(m.envelope.event_type().client()).await),
            None => None,
        };
        let answer = self.backend.call(m).await;
        let outcome = match &answer {
            Ok(_) => "success",
            Err(e) if e.is_transient() => "transient",
            Err(_) => "permanent",
        };
        self.runs.get_or_create(&RunLabels { outcome }).inc();
        match answer? {
            None => Ok(Vec::new()),
            Some(body) => Ok(vec![follow_up(&self.company, &self.name, &self.action, m, body)?]),
        }
    }
}
