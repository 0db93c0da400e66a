//! The two Prometheus exposition formats `/metrics` speaks: OpenMetrics 1.0 (what
//! prometheus-client writes) to a scraper that asks for it in `Accept`, as Prometheus does,
//! and the classic text format 0.0.4 to everything else (curl, promtool, older agents), whose
//! readers take an OpenMetrics counter family `x` with samples `x_total` for a metric without
//! help or type.

/// `Content-Type` of an OpenMetrics answer.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// `Content-Type` of a classic text-format answer.
pub const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether an `Accept` header asks for OpenMetrics (any range naming it with a non-zero q).
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let refused =
                parts.any(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()) == Some(0.0));
            media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
        })
    })
}

/// Rewrites prometheus-client's OpenMetrics text as the classic text format: counter families
/// are named with their `_total` suffix, info families with `_info` (as gauges), `unknown`
/// is `untyped`; `# UNIT`, `# EOF`, `_created` samples and exemplars are dropped.
pub fn to_text_format(openmetrics: &str) -> String {
    let mut types = std::collections::HashMap::new();
    for line in openmetrics.lines() {
        if let Some((name, kind)) = line.strip_prefix("# TYPE ").and_then(|r| r.split_once(' ')) {
            types.insert(name, kind);
        }
    }
    let renamed = |name: &str| match types.get(name) {
        Some(&"counter") => format!("{name}_total"),
        Some(&"info") => format!("{name}_info"),
        _ => name.to_string(),
    };
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some((name, help)) = line.strip_prefix("# HELP ").and_then(|r| r.split_once(' ')) {
            // OpenMetrics escapes `"` in help text; the text format does not.
            out.push_str(&format!("# HELP {} {}\n", renamed(name), help.replace("\\\"", "\"")));
        } else if let Some((name, kind)) = line.strip_prefix("# TYPE ").and_then(|r| r.split_once(' ')) {
            let kind = match kind {
                "info" => "gauge",
                "unknown" => "untyped",
                other => other,
            };
            out.push_str(&format!("# TYPE {} {kind}\n", renamed(name)));
        } else if !line.starts_with('#') {
            let sample = line.split(" # ").next().unwrap_or(line);
            let metric = sample.split(['{', ' ']).next().unwrap_or_default();
            let created_of_counter =
                metric.strip_suffix("_created").is_some_and(|family| types.get(family) == Some(&"counter"));
            if !created_of_counter {
                out.push_str(sample);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENMETRICS_SAMPLE: &str = "\
# HELP eda_messages_consumed Deliveries \\\"received\\\".
# TYPE eda_messages_consumed counter
eda_messages_consumed_total{service=\"dbwriter\"} 3
eda_messages_consumed_created{service=\"dbwriter\"} 1700000000.0
# HELP eda_build Build information.
# TYPE eda_build info
eda_build_info{version=\"0.1.0\"} 1
# HELP eda_handler_duration_seconds Time in the handler.
# TYPE eda_handler_duration_seconds histogram
# UNIT eda_handler_duration_seconds seconds
eda_handler_duration_seconds_sum{service=\"dbwriter\"} 0.5
eda_handler_duration_seconds_count{service=\"dbwriter\"} 2
eda_handler_duration_seconds_bucket{service=\"dbwriter\",le=\"+Inf\"} 2 # {trace_id=\"x\"} 0.4
# HELP eda_broker_connected Whether connected.
# TYPE eda_broker_connected gauge
eda_broker_connected{service=\"dbwriter\"} 1
# EOF
";

    #[test]
    fn counters_and_infos_are_named_with_their_suffix_and_openmetrics_only_lines_go() {
        assert_eq!(
            to_text_format(OPENMETRICS_SAMPLE),
            "\
# HELP eda_messages_consumed_total Deliveries \"received\".
# TYPE eda_messages_consumed_total counter
eda_messages_consumed_total{service=\"dbwriter\"} 3
# HELP eda_build_info Build information.
# TYPE eda_build_info gauge
eda_build_info{version=\"0.1.0\"} 1
# HELP eda_handler_duration_seconds Time in the handler.
# TYPE eda_handler_duration_seconds histogram
eda_handler_duration_seconds_sum{service=\"dbwriter\"} 0.5
eda_handler_duration_seconds_count{service=\"dbwriter\"} 2
eda_handler_duration_seconds_bucket{service=\"dbwriter\",le=\"+Inf\"} 2
# HELP eda_broker_connected Whether connected.
# TYPE eda_broker_connected gauge
eda_broker_connected{service=\"dbwriter\"} 1
"
        );
    }

    #[test]
    fn openmetrics_is_answered_only_to_a_scraper_that_asks_for_it() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(wants_openmetrics(Some(prometheus)));
        assert!(wants_openmetrics(Some("Application/OpenMetrics-Text")));
        for other in
            [None, Some("*/*"), Some("text/plain;version=0.0.4"), Some("application/openmetrics-text;q=0")]
        {
            assert!(!wants_openmetrics(other), "{other:?}");
        }
    }
}
