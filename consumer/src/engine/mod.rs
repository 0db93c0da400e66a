//! `consumer run`: the engine. Each event of `<prefix>.<NAME>` goes to business code (a command
//! or a webhook); its JSON answer becomes `<company>.<NAME>.event.<client>.<ACTION>`.

mod exec;
mod handler;
mod output;
mod webhook;

use std::sync::Arc;

use eda_common::delivery::{self, ConsumerSpec};
use eda_common::topology::ServiceQueue;
use eda_common::EventType;
use tokio_util::sync::CancellationToken;

pub use exec::Exec;
pub use handler::{Backend, Engine};
pub use output::DEFAULT_ACTION;
pub use webhook::Webhook;

use crate::config::RunArgs;
use crate::error::{Error, Result};
use eda_common::service::Service;

/// Consumes `<prefix>.<NAME>` with the configured business code until `shutdown`.
pub async fn run(rt: &Service, args: RunArgs, shutdown: CancellationToken) -> Result<()> {
    let engine = Engine::from_args(&args, rt.broker.company(), &rt.health)?;
    tracing::info!(name = %args.name, bindings = ?args.bindings, backend = %engine.backend.describe(),
        concurrency = args.concurrency, ordered = args.ordered, "engine starting");
    let spec = ConsumerSpec {
        queue: ServiceQueue { service: args.name.clone(), bindings: args.bindings.clone() },
        concurrency: args.concurrency.max(1),
        emit_failed: true,
    };
    delivery::run(&rt.publisher, spec, Arc::new(engine), shutdown)
        .await
        .map_err(|e| Error::Usage(format!("consuming {}: {e:#}", args.name)))
}

/// Checks the flags before anything starts, so a typo fails at once with a clear message.
pub fn validate(args: &RunArgs) -> Result<()> {
    check_segment("--name", &args.name)?;
    check_segment("--emit", args.emit.as_deref().unwrap_or(DEFAULT_ACTION))?;
    match (&args.exec, &args.webhook) {
        (Some(cmd), None) => Exec::parse(cmd, args.timeout).map(drop),
        (None, Some(url)) => Webhook::new(url, args.timeout, &args.name).map(drop),
        _ => Err(Error::Usage("give exactly one of --exec CMD or --webhook URL".into())),
    }
}

/// Checks that `value` can be the app or action segment of an event type, naming the flag if not.
pub(crate) fn check_segment(flag: &'static str, value: &str) -> Result<()> {
    let shape_ok = EventType::new("company", value, "client", value).is_ok();
    let charset_ok = value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if shape_ok && charset_ok && !value.is_empty() {
        return Ok(());
    }
    Err(Error::Segment {
        flag,
        value: value.to_owned(),
        reason: "use letters, digits, '-' or '_' only (it becomes a queue name and a routing-key segment)"
            .into(),
    })
}
