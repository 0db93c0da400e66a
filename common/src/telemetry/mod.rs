//! One telemetry entry point: JSON (default) or pretty logs on stdout, levels from `RUST_LOG`,
//! and spans over OTLP when OpenTelemetry's standard variables ask for them ([`otel`]).
//!
//! JSON lines carry the fields of every enclosing span at the top level, so a line logged
//! while a message is handled has `trace_id` (and `event_type`, `message_id`) next to its
//! `message` — log pipelines filter on it without unnesting.

mod context;
mod http;
mod otel;

use std::sync::Once;

pub use context::{continue_trace, current_traceparent, link_to, new_trace_id};
pub use http::request_span;
pub use otel::{exporting, ExportError};

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry};

/// How log lines are written.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object a line, for log pipelines.
    #[default]
    Json,
    /// Human-friendly, for terminals.
    Pretty,
}

const DEFAULT_FILTER: &str = "info,lapin=warn,sqlx=warn,kube=warn,hyper=warn,tower=warn";

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

/// A JSON subscriber writing to `writer` (stdout in services, a buffer in tests).
pub fn json_subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    Registry::default().with(filter(DEFAULT_FILTER)).with(tracing_flat_json::FlatJsonLayer::new(writer))
}

/// What [`init`] set up; keep it until the service ends: dropping it sends the spans not yet
/// exported (within the exporter's timeout).
#[must_use = "dropping the telemetry guard stops span export"]
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                tracing::warn!(error = %e, "spans not exported before exit");
            }
        }
    }
}

/// Installs the global subscriber once (later calls, from other tests in the same binary, do
/// nothing): logs in `format`, and spans exported as `service` when `OTEL_EXPORTER_OTLP_ENDPOINT`
/// is set. The error names the OpenTelemetry variable that asks for what this build lacks.
pub fn init(format: LogFormat, service: &str) -> Result<Telemetry, ExportError> {
    static ONCE: Once = Once::new();
    let mut result = Ok(Telemetry::default());
    ONCE.call_once(|| {
        let provider = match otel::provider_from(service, |name| std::env::var(name).ok()) {
            Ok(provider) => provider,
            Err(e) => {
                result = Err(e);
                return;
            }
        };
        let spans = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(otel::tracer(p)));
        let logs = Registry::default().with(filter(DEFAULT_FILTER)).with(spans);
        let _ = match format {
            LogFormat::Json => logs.with(tracing_flat_json::FlatJsonLayer::new(std::io::stdout)).try_init(),
            LogFormat::Pretty => {
                logs.with(tracing_subscriber::fmt::layer().with_writer(std::io::stdout).pretty()).try_init()
            }
        };
        if provider.is_some() {
            tracing::info!(service, "exporting spans over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT)");
        }
        result = Ok(Telemetry { provider });
    });
    result
}

/// For tests: logs to the test harness's captured output, `RUST_LOG` or `warn`.
pub fn init_for_tests() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt().with_env_filter(filter("warn")).with_test_writer().try_init();
    });
}

#[cfg(test)]
mod tests {
    use eda_tests::captured::Captured;

    use super::*;

    #[test]
    fn a_line_logged_while_handling_a_message_carries_its_trace_id_at_the_top_level() {
        let buffer = Captured::default();
        tracing::subscriber::with_default(json_subscriber(buffer.clone()), || {
            let span = tracing::info_span!("message", trace_id = "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
            let _entered = span.enter();
            tracing::info!(attempt = 2, "namespace applied");
        });
        let out = buffer.text();
        let line: serde_json::Value = serde_json::from_str(out.lines().next().expect("one line")).unwrap();
        assert_eq!(line["trace_id"], "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
        assert_eq!(line["message"], "namespace applied");
        assert_eq!(line["attempt"], 2);
        assert_eq!(line["level"], "INFO");
    }
}
