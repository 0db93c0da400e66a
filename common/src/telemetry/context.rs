//! The purchase's trace as OpenTelemetry sees it: spans joined to the trace id eda already
//! carries (the envelope's `trace_id`, the W3C `traceparent` header), and the `traceparent`
//! of the current span for what this service sends on.
//!
//! Every function here is a no-op when spans are not exported ([`super::exporting`]), so a
//! service without `OTEL_EXPORTER_OTLP_ENDPOINT` behaves, and costs, exactly as before.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use uuid::Uuid;

use super::otel::exporting;
use crate::envelope::traceparent;

/// Joins `span` to the trace `trace_id`, under the span that sent the message: the one its
/// `traceparent` names when that is of the same trace, else the span id eda derives from
/// `seed` (the message id) — a sender that exports no spans, such as a legacy publisher.
/// Either way the span's trace id is the envelope's, so a trace viewer and eda's `trace_id`
/// agree.
pub fn continue_trace(span: &tracing::Span, trace_id: Uuid, sent_with: Option<&str>, seed: &str) {
    if !exporting() {
        return;
    }
    let parent = sent_with
        .and_then(span_context_of)
        .filter(|c| c.trace_id() == otel_trace_id(trace_id))
        .or_else(|| span_context_of(&traceparent(trace_id, seed)));
    if let Some(parent) = parent {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
    }
}

/// Makes `span` a new trace that links to the one `traceparent` names (work that follows a
/// trace without belonging to it: a periodic resync of a tenant, an HTTP caller's own trace).
pub fn link_to(span: &tracing::Span, traceparent: Option<&str>) {
    if !exporting() {
        return;
    }
    if let Some(linked) = traceparent.and_then(span_context_of) {
        span.add_link(linked);
    }
}

/// The `traceparent` of the current span if it belongs to the trace `trace_id`, for what this
/// service publishes in that trace; `None` when spans are not exported.
pub fn current_traceparent(trace_id: Uuid) -> Option<String> {
    if !exporting() {
        return None;
    }
    let context = tracing::Span::current().context();
    let span = context.span();
    let current = span.span_context();
    (current.is_valid() && current.trace_id() == otel_trace_id(trace_id)).then(|| {
        format!("00-{}-{}-{:02x}", current.trace_id(), current.span_id(), current.trace_flags().to_u8())
    })
}

/// The trace id for new work (a purchase): the current span's when spans are exported, so the
/// HTTP request that placed the order and the order share one trace; a new v4 UUID otherwise.
pub fn new_trace_id() -> Uuid {
    if exporting() {
        let context = tracing::Span::current().context();
        let current = context.span().span_context().clone();
        if current.is_valid() {
            return Uuid::from_bytes(current.trace_id().to_bytes());
        }
    }
    Uuid::new_v4()
}

fn otel_trace_id(trace_id: Uuid) -> TraceId {
    TraceId::from_bytes(*trace_id.as_bytes())
}

/// A W3C `traceparent` as a remote span context; `None` if it is not one.
fn span_context_of(traceparent: &str) -> Option<SpanContext> {
    let parts: Vec<&str> = traceparent.trim().split('-').collect();
    let [version, trace, span, flags, ..] = parts.as_slice() else { return None };
    if version.len() != 2 || *version == "ff" || (*version == "00" && parts.len() != 4) {
        return None;
    }
    let trace = TraceId::from_hex(trace).ok().filter(|_| trace.len() == 32)?;
    let span = SpanId::from_hex(span).ok().filter(|_| span.len() == 16)?;
    let flags = u8::from_str_radix(flags, 16).ok().filter(|_| flags.len() == 2)?;
    let context = SpanContext::new(trace, span, TraceFlags::new(flags), true, TraceState::default());
    context.is_valid().then_some(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_reads_as_the_remote_span_it_names() {
        let c = span_context_of("00-9a2ae9de3f824f55966b47df50ff51ff-00f067aa0ba902b7-01").unwrap();
        assert_eq!(c.trace_id().to_string(), "9a2ae9de3f824f55966b47df50ff51ff");
        assert_eq!(c.span_id().to_string(), "00f067aa0ba902b7");
        assert!(c.is_sampled() && c.is_remote());
    }

    #[test]
    fn what_is_not_a_traceparent_gives_no_parent() {
        for bad in [
            "",
            "00-9a2ae9de3f824f55966b47df50ff51ff-00f067aa0ba902b7",
            "00-9a2ae9de3f824f55966b47df50ff51ff-00f067aa0ba902b7-01-extra",
            "ff-9a2ae9de3f824f55966b47df50ff51ff-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-9a2ae9de3f824f55966b47df50ff51ff-0000000000000000-01",
            "00-9a2ae9de3f824f55966b47df50ff51f-00f067aa0ba902b7-01",
            "00-9a2ae9de3f824f55966b47df50ff51ff-00f067aa0ba902b7-1",
        ] {
            assert!(span_context_of(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn eda_trace_ids_and_opentelemetry_trace_ids_are_the_same_128_bits() {
        let trace_id = Uuid::parse_str("9a2ae9de-3f82-4f55-966b-47df50ff51ff").unwrap();
        assert_eq!(otel_trace_id(trace_id).to_string(), trace_id.simple().to_string());
    }

    #[test]
    fn without_export_there_is_no_current_traceparent_and_new_work_gets_a_v4_uuid() {
        let span = tracing::info_span!("message");
        let _entered = span.enter();
        assert_eq!(current_traceparent(Uuid::new_v4()), None);
        assert_eq!(new_trace_id().get_version_num(), 4);
    }
}
