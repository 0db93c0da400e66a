//! The Prometheus panels query only `eda_*` metrics some service registers.

use std::collections::BTreeSet;
use std::path::Path;

use regex::Regex;

use crate::grafana::{dashboards, targets};

/// Names registered through prometheus-client in the workspace's sources (without `eda_`).
fn registered_metric_names() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let register = Regex::new(r#"register\(\s*"([a-z0-9_]+)""#).unwrap();
    let mut names = BTreeSet::new();
    for krate in ["common", "producer", "consumer", "dbwriter", "provisioner", "k8s-event-exporter"] {
        let mut stack = vec![root.join(krate).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    names.extend(register.captures_iter(&text).map(|c| c[1].to_owned()));
                }
            }
        }
    }
    names
}

/// `eda_messages_consumed_total` → `messages_consumed` (prometheus-client adds the suffixes).
fn base_name(series: &str) -> &str {
    let name = series.strip_prefix("eda_").unwrap_or(series);
    ["_total", "_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name)
}

#[test]
fn every_prometheus_query_names_only_metrics_the_services_register() {
    let registered = registered_metric_names();
    assert!(registered.contains("messages_consumed"), "the runtime's metrics are found: {registered:?}");
    let metric = Regex::new(r"\beda_[a-z0-9_]+").unwrap();
    let mut checked = 0;
    let mut unknown = Vec::new();
    for d in dashboards() {
        for t in targets(&d) {
            let Some(expr) = t.target["expr"].as_str() else { continue };
            let names: Vec<&str> = metric.find_iter(expr).map(|m| m.as_str()).collect();
            assert!(!names.is_empty(), "{}: the query names an eda_ metric: {expr}", t.place);
            for name in names {
                checked += 1;
                if !registered.contains(base_name(name)) {
                    unknown.push(format!("{}: {name}", t.place));
                }
            }
        }
    }
    assert!(checked >= 10, "the Services dashboard has Prometheus queries (checked {checked})");
    assert!(unknown.is_empty(), "metrics no service registers:\n{}", unknown.join("\n"));
}

#[test]
fn the_metric_name_check_strips_only_the_exposition_suffixes() {
    assert_eq!(base_name("eda_messages_consumed_total"), "messages_consumed");
    assert_eq!(base_name("eda_handler_duration_seconds_bucket"), "handler_duration_seconds");
    assert_eq!(base_name("eda_broker_connected"), "broker_connected");
}
