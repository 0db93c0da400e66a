//! Span export over OTLP, switched on by OpenTelemetry's standard variables and nothing else.
//!
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set → every span
//! the service makes goes, in batches, to that collector over OTLP/HTTP with protobuf
//! (`http/protobuf`, port 4318 by convention). The exporter crate reads the rest of the
//! standard variables itself (`OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT`, `_COMPRESSION`), the
//! batch processor its `OTEL_BSP_*`, the resource `OTEL_SERVICE_NAME` and
//! `OTEL_RESOURCE_ATTRIBUTES`. Unset, `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`
//! → no layer is installed at all, so spans cost what they cost before.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::{IdGenerator, SdkTracerProvider, Tracer};
use opentelemetry_sdk::Resource;

/// Whether this process exports spans; read where making a span costs something per message.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported (an exporter was installed by [`super::init`]).
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Why span export could not be set up; names the variable to change.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{variable}={value:?}: this build exports spans over OTLP/HTTP with protobuf only; set it to `http/protobuf` (port 4318), or unset it")]
    Protocol { variable: &'static str, value: String },
    #[error("OTEL_TRACES_EXPORTER={0:?}: only `otlp` and `none` are built in")]
    Exporter(String),
    #[error("the OTLP span exporter could not be built (check OTEL_EXPORTER_OTLP_* variables): {0}")]
    Build(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// The tracer provider the standard variables ask for, or `None` when they ask for nothing.
/// `lookup` reads a variable (the process environment in services, a map in tests).
pub(crate) fn provider_from(
    service: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<SdkTracerProvider>, ExportError> {
    let set = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    if set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    match set("OTEL_TRACES_EXPORTER").as_deref() {
        None | Some("otlp") => {}
        Some("none") => return Ok(None),
        Some(other) => return Err(ExportError::Exporter(other.to_string())),
    }
    if set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none() && set("OTEL_EXPORTER_OTLP_ENDPOINT").is_none() {
        return Ok(None);
    }
    for variable in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
        if let Some(value) = set(variable).filter(|v| v != "http/protobuf") {
            return Err(ExportError::Protocol { variable, value });
        }
    }
    // The endpoint, headers, timeout and compression come from the variables, read by the crate.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()?;
    let resource = match set("OTEL_SERVICE_NAME") {
        Some(_) => Resource::builder().build(),
        None => Resource::builder().with_service_name(service.to_string()).build(),
    };
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_id_generator(UuidTraceIds)
            .with_resource(resource)
            .build(),
    ))
}

/// The tracer spans are made with, and a note that from now on they are exported.
pub(crate) fn tracer(provider: &SdkTracerProvider) -> Tracer {
    EXPORTING.store(true, Ordering::Relaxed);
    provider.tracer("eda")
}

/// New trace ids are version 4 UUIDs, so a trace begun by a span (a purchase's HTTP request)
/// has an id eda's `trace_id` fields accept as the UUID they are everywhere else.
#[derive(Debug)]
struct UuidTraceIds;

impl IdGenerator for UuidTraceIds {
    fn new_trace_id(&self) -> TraceId {
        TraceId::from(uuid::Uuid::new_v4().as_u128())
    }

    fn new_span_id(&self) -> SpanId {
        loop {
            let id = fastrand::u64(..);
            if id != 0 {
                return SpanId::from(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn provider(vars: &[(&str, &str)]) -> Result<Option<SdkTracerProvider>, ExportError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        provider_from("dbwriter", |name| vars.get(name).cloned())
    }

    #[test]
    fn nothing_is_exported_unless_an_endpoint_is_set() {
        assert!(provider(&[]).unwrap().is_none());
        assert!(provider(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]).unwrap().is_none());
        assert!(provider(&[("OTEL_SERVICE_NAME", "x")]).unwrap().is_none());
    }

    #[test]
    fn an_endpoint_exports_unless_the_sdk_or_the_exporter_is_switched_off() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
        assert!(provider(&[endpoint]).unwrap().is_some());
        assert!(provider(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/v1/traces")])
            .unwrap()
            .is_some());
        assert!(provider(&[endpoint, ("OTEL_SDK_DISABLED", "TRUE")]).unwrap().is_none());
        assert!(provider(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")]).unwrap().is_none());
    }

    #[test]
    fn a_protocol_or_exporter_this_build_lacks_is_refused_naming_the_variable() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317");
        let grpc = provider(&[endpoint, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap_err().to_string();
        assert!(
            grpc.starts_with("OTEL_EXPORTER_OTLP_PROTOCOL=\"grpc\"") && grpc.contains("http/protobuf"),
            "{grpc}"
        );
        let json = provider(&[endpoint, ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")]).unwrap_err();
        assert!(json.to_string().contains("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), "{json}");
        let zipkin = provider(&[endpoint, ("OTEL_TRACES_EXPORTER", "zipkin")]).unwrap_err();
        assert!(zipkin.to_string().contains("zipkin"), "{zipkin}");
        assert!(provider(&[endpoint, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]).unwrap().is_some());
    }

    #[test]
    fn new_trace_ids_are_version_4_uuids() {
        let id = UuidTraceIds.new_trace_id();
        let uuid = uuid::Uuid::from_u128(u128::from_be_bytes(id.to_bytes()));
        assert_eq!(uuid.get_version_num(), 4);
    }
}
