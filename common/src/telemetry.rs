//! One telemetry entry point: JSON (default) or pretty logs on stdout, levels from `RUST_LOG`.

use std::sync::Once;

use tracing_subscriber::EnvFilter;

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

/// Installs the global subscriber once; later calls (other tests in the same binary) do nothing.
pub fn init(format: LogFormat) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
        let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stdout);
        let _ = match format {
            LogFormat::Json => {
                builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
            }
            LogFormat::Pretty => builder.pretty().try_init(),
        };
    });
}

/// For tests: logs to the test harness's captured output, `RUST_LOG` or `warn`.
pub fn init_for_tests() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    });
}
