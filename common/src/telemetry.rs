//! One telemetry entry point: JSON (default) or pretty logs on stdout, levels from `RUST_LOG`.
//!
//! JSON lines carry the fields of every enclosing span at the top level, so a line logged
//! while a message is handled has `trace_id` (and `event_type`, `message_id`) next to its
//! `message` — log pipelines filter on it without unnesting.

use std::sync::Once;

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

/// Installs the global subscriber once; later calls (other tests in the same binary) do nothing.
pub fn init(format: LogFormat) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| match format {
        LogFormat::Json => {
            let _ = json_subscriber(std::io::stdout).try_init();
        }
        LogFormat::Pretty => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter(DEFAULT_FILTER))
                .with_writer(std::io::stdout)
                .pretty()
                .try_init();
        }
    });
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
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    #[test]
    fn a_line_logged_while_handling_a_message_carries_its_trace_id_at_the_top_level() {
        let buffer = Buffer::default();
        tracing::subscriber::with_default(json_subscriber(buffer.clone()), || {
            let span = tracing::info_span!("message", trace_id = "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
            let _entered = span.enter();
            tracing::info!(attempt = 2, "namespace applied");
        });
        let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(out.lines().next().expect("one line")).unwrap();
        assert_eq!(line["trace_id"], "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
        assert_eq!(line["message"], "namespace applied");
        assert_eq!(line["attempt"], 2);
        assert_eq!(line["level"], "INFO");
    }
}
