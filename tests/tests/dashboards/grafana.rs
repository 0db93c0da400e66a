//! Reading the dashboards: every file, every panel (rows included), every target.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `helm/eda/dashboards`, where the chart and compose both take the dashboards from.
pub fn dashboards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../helm/eda/dashboards")
}

/// One dashboard: its file name and parsed JSON.
pub struct Dashboard {
    pub file: String,
    pub json: Value,
}

/// Every `*.json` in the dashboards directory, parsed; panics naming a file that is not JSON.
pub fn dashboards() -> Vec<Dashboard> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dashboards_dir())
        .expect("helm/eda/dashboards exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable dashboard");
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()));
            Dashboard { file: path.file_name().unwrap().to_string_lossy().into_owned(), json }
        })
        .collect()
}

/// A query of a panel, with where it comes from for error messages.
pub struct Target {
    pub place: String,
    pub target: Value,
}

/// Every target of every panel, including panels nested in collapsed rows.
pub fn targets(dashboard: &Dashboard) -> Vec<Target> {
    fn walk(file: &str, panels: &[Value], out: &mut Vec<Target>) {
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or("<untitled>");
            for target in panel["targets"].as_array().into_iter().flatten() {
                out.push(Target { place: format!("{file} / {title}"), target: target.clone() });
            }
            if let Some(nested) = panel["panels"].as_array() {
                walk(file, nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard.file, dashboard.json["panels"].as_array().map(Vec::as_slice).unwrap_or(&[]), &mut out);
    out
}

#[test]
fn every_dashboard_parses_and_has_a_unique_uid_and_title() {
    let all = dashboards();
    let names: Vec<&str> = all.iter().map(|d| d.file.as_str()).collect();
    assert_eq!(names, ["purchases.json", "services.json", "trace.json"]);
    let mut uids: Vec<&str> =
        all.iter().map(|d| d.json["uid"].as_str().expect("every dashboard has a uid")).collect();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), all.len(), "dashboard uids are unique");
    for d in &all {
        assert!(d.json["title"].as_str().is_some_and(|t| !t.is_empty()), "{} has a title", d.file);
        assert!(!targets(d).is_empty(), "{} has queries", d.file);
    }
}

#[test]
fn the_trace_dashboard_asks_for_a_trace_id_in_a_textbox() {
    let trace = dashboards().into_iter().find(|d| d.file == "trace.json").unwrap();
    let vars = trace.json["templating"]["list"].as_array().unwrap();
    let trace_id = vars.iter().find(|v| v["name"] == "trace_id").expect("a trace_id variable");
    assert_eq!(trace_id["type"], "textbox");
    let uses = targets(&trace)
        .iter()
        .filter(|t| t.target["rawSql"].as_str().unwrap_or("").contains("${trace_id}"))
        .count();
    assert!(uses >= 3, "the trace's panels filter on ${{trace_id}} (found {uses})");
}
