//! Reading the chart: its values, its templates, and templates with their actions stripped.

use std::path::{Path, PathBuf};

use regex::Regex;

/// `helm/eda`.
pub fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../helm/eda")
}

pub fn values() -> serde_yaml::Value {
    serde_yaml::from_str(&read(&chart_dir().join("values.yaml"))).expect("values.yaml parses")
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `(file name, text)` of every file in `templates/`.
pub fn templates() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(chart_dir().join("templates"))
        .expect("helm/eda/templates exists")
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), read(&p)))
        .collect();
    out.sort();
    out
}

/// The YAML manifests among the templates (not helpers, not NOTES.txt).
pub fn manifest_templates() -> Vec<(String, String)> {
    templates().into_iter().filter(|(name, _)| name.ends_with(".yaml")).collect()
}

/// A template with its actions stripped: lines holding only an action go, an inline action
/// becomes the scalar `X`. What is left is what every rendering has in common, and must be YAML.
pub fn strip_actions(template: &str) -> String {
    let inline = Regex::new(r"\{\{-?.*?-?\}\}").unwrap();
    template
        .lines()
        .filter(|line| !inline.replace_all(line, "").trim().is_empty() || !line.contains("{{"))
        .map(|line| inline.replace_all(line, "X").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The stripped template's documents, parsed.
pub fn stripped_documents(name: &str, template: &str) -> Vec<serde_yaml::Value> {
    let stripped = strip_actions(template);
    serde_yaml::Deserializer::from_str(&stripped)
        .map(|doc| {
            serde_yaml::Value::deserialize(doc).unwrap_or_else(|e| {
                panic!("{name} is not YAML once its actions are stripped: {e}\n{stripped}")
            })
        })
        .filter(|doc| !doc.is_null())
        .collect()
}

use serde::Deserialize;

#[test]
fn stripping_drops_action_lines_and_replaces_inline_actions() {
    let stripped = strip_actions("{{- if .Values.a }}\nkind: X\nreplicas: {{ .Values.n }}\n  {{- include \"x\" . | nindent 2 }}\n{{- end }}");
    assert_eq!(stripped, "kind: X\nreplicas: X");
}
