//! consumer: the generic engine that hands events to business code in any language (a command
//! on stdin/stdout or a webhook), the audit tap (`log`), the legacy-queue `bridge`, and the
//! dead-letter tools (`dlq list`, `dlq replay`) and the preflight (`topology check`).

pub mod bridge;
pub mod config;
pub mod dlq;
pub mod engine;
mod error;
pub mod log_tap;
pub mod topology;

use std::time::Duration;

pub use config::{Config, Mode};
pub use error::{Error, Result};

use eda_common::service::Service;
use eda_common::shutdown::Shutdown;

/// `HTTP_ADDR` default port of the consumer (DESIGN.md §6).
pub const DEFAULT_HTTP_PORT: u16 = 9091;
/// How long a publish may wait for a connection or a confirm before it counts as failed.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs whichever mode the command line asked for until it ends or `shutdown`.
pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    match config.mode()? {
        // DESIGN.md §5: without a handler the engine logs each event as one JSON line.
        Mode::Run(args, common) if args.exec.is_none() && args.webhook.is_none() => {
            let log = config::LogArgs { bindings: args.bindings, name: args.name };
            serve(&common, &log.name.clone(), shutdown, |rt, stop| async move {
                log_tap::run(&rt, log, std::io::stdout(), stop).await
            })
            .await?
        }
        Mode::Run(args, common) => {
            engine::validate(&args)?;
            serve(&common, &args.name.clone(), shutdown, |rt, stop| async move {
                engine::run(&rt, *args, stop).await
            })
            .await?
        }
        Mode::Log(args, common) => {
            serve(&common, &args.name.clone(), shutdown, |rt, stop| async move {
                log_tap::run(&rt, args, std::io::stdout(), stop).await
            })
            .await?
        }
        Mode::Bridge(args, common) => {
            serve(&common, "bridge", shutdown, |rt, stop| async move { bridge::run(&rt, &args, stop).await })
                .await?
        }
        Mode::Dlq(action, common) => dlq::run(&common, action).await?,
        Mode::Topology(action, common) => topology::run(&common, action).await?,
    }
    Ok(())
}

/// A long-running mode in the service skeleton: health server, the mode itself, then a clean
/// close in that order.
async fn serve<F, Fut>(
    common: &eda_common::CommonArgs,
    service: &str,
    shutdown: Shutdown,
    mode: F,
) -> Result<()>
where
    F: FnOnce(Service, Shutdown) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let serving = Service::start(common, service, PUBLISH_TIMEOUT)
        .serve(common.http_addr_or(DEFAULT_HTTP_PORT))
        .await?;
    tracing::info!(addr = %serving.local_addr(), "serving /healthz, /readyz and /metrics");
    serving.run(shutdown, mode).await
}
