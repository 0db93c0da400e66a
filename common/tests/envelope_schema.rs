//! `docs/envelope.schema.json` and the Rust envelope agree: every sample in
//! `tests/fixtures/valid/` is accepted by both, every sample in `tests/fixtures/invalid/`
//! is rejected by both (the Rust error naming the field listed in
//! `tests/fixtures/expected_errors.json`), and what the suite writes validates and reads
//! back unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eda_common::envelope::Envelope;
use eda_common::EnvelopeError;
use serde_json::{json, Value};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `(file name, bytes)` of every `*.json` in `fixtures/<kind>/`, sorted.
fn fixtures(kind: &str) -> Vec<(String, Vec<u8>)> {
    let mut found: Vec<_> = std::fs::read_dir(fixtures_dir().join(kind))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap()))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no fixtures in {kind}/");
    found
}

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/envelope.schema.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// What the schema says about raw bytes. Text that is not JSON cannot be an instance of
/// any JSON Schema, so a parse failure counts as the schema rejecting it.
fn schema_verdict(validator: &jsonschema::Validator, bytes: &[u8]) -> Result<(), String> {
    let instance: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let errors: Vec<String> =
        validator.iter_errors(&instance).map(|error| format!("{}: {error}", error.instance_path())).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn expected_errors() -> BTreeMap<String, String> {
    let text = std::fs::read(fixtures_dir().join("expected_errors.json")).unwrap();
    let mut map: BTreeMap<String, Value> = serde_json::from_slice(&text).unwrap();
    map.remove("_comment");
    map.into_iter().map(|(file, expected)| (file, expected.as_str().unwrap().to_owned())).collect()
}

/// Describes an error as `expected_errors.json` does.
fn error_kind(error: &EnvelopeError) -> &str {
    match error {
        EnvelopeError::NotJson(_) => "not JSON",
        EnvelopeError::NotObject => "not an object",
        EnvelopeError::TooLarge { .. } => "too large",
        other => other.field().unwrap(),
    }
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let schema = schema();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    jsonschema::meta::validate(&schema).unwrap();
}

#[test]
fn every_valid_fixture_is_accepted_by_the_schema_and_the_reader() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    for (name, bytes) in fixtures("valid") {
        schema_verdict(&validator, &bytes).unwrap_or_else(|e| panic!("the schema rejects valid/{name}: {e}"));
        Envelope::from_json(&bytes).unwrap_or_else(|e| panic!("the reader rejects valid/{name}: {e}"));
    }
}

#[test]
fn every_invalid_fixture_is_rejected_by_both_naming_the_expected_field() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let expected = expected_errors();
    let names: Vec<String> = fixtures("invalid").into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        expected.keys().cloned().collect::<Vec<_>>(),
        "expected_errors.json lists every invalid fixture"
    );
    for (name, bytes) in fixtures("invalid") {
        assert!(schema_verdict(&validator, &bytes).is_err(), "the schema accepts invalid/{name}");
        let error = Envelope::from_json(&bytes).expect_err(&format!("the reader accepts invalid/{name}"));
        assert_eq!(error_kind(&error), expected[&name], "invalid/{name}: {error}");
    }
}

#[test]
fn the_seed_readme_example_with_its_comments_is_rejected_as_not_json() {
    let bytes =
        std::fs::read(fixtures_dir().join("invalid/seed-readme-verbatim-with-comments.json")).unwrap();
    let error = Envelope::from_json(&bytes).unwrap_err();
    assert!(matches!(error, EnvelopeError::NotJson(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "body is not JSON: key must be a string at line 1 column 52 \
         (JSON has no comments: remove the /* ... */ and // annotations)"
    );
}

#[test]
fn the_seed_readme_example_without_comments_is_read_with_every_field() {
    let bytes = std::fs::read(fixtures_dir().join("valid/seed-readme-comments-stripped.json")).unwrap();
    let envelope = Envelope::from_json(&bytes).unwrap();
    let body = json!({
        "client": "cliente02", "namespace": "cliente02", "environment": "Development",
        "archtype": "SaaS", "hardware": "Dedicated", "product": "Product-A",
    });
    assert_eq!(Value::Object(envelope.body.clone()), body);
    assert_eq!(envelope.event_type().as_str(), "mycompany.producer.event.client.published");
    assert_eq!(envelope.attributes.published_on.to_rfc3339(), "2023-01-02T23:02:00.642883101+00:00");
    assert_eq!(envelope.trace_id().to_string(), "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
    assert_eq!(envelope.attributes.retrace_intent, 0);
    assert_eq!(envelope.metadata.host.as_deref(), Some("hostname"));
    assert_eq!(envelope.metadata.origin.as_deref(), Some("Cloud"));
    assert_eq!(envelope.metadata.publisher.as_deref(), Some("producer"));
    assert!(envelope.attributes.extra.is_empty() && envelope.metadata.extra.is_empty());
}

#[test]
fn the_design_example_is_read_verbatim() {
    let bytes = std::fs::read(fixtures_dir().join("valid/design-example.json")).unwrap();
    let envelope = Envelope::from_json(&bytes).unwrap();
    assert_eq!(envelope.event_type().client(), "cliente02");
    assert_eq!(envelope.body_str("product"), Some("product-a"));
}

#[test]
fn what_the_suite_writes_validates_and_reads_back_unchanged() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    for (name, bytes) in fixtures("valid") {
        let envelope = Envelope::from_json(&bytes).unwrap();
        let written = envelope.to_json();
        schema_verdict(&validator, &written).unwrap_or_else(|e| panic!("valid/{name} written: {e}"));
        assert_eq!(Envelope::from_json(&written).unwrap(), envelope, "valid/{name}");

        let value: Value = serde_json::from_slice(&written).unwrap();
        let attributes = &value["MessageAttributes"];
        let retrace_intent =
            attributes["retrace_intent"].as_str().expect("retrace_intent is written as a string");
        assert!(retrace_intent.bytes().all(|b| b.is_ascii_digit()), "{retrace_intent}");
        let published_on = attributes["published_on"].as_str().unwrap();
        assert!(published_on.ends_with('Z'), "{published_on}");
        chrono::DateTime::parse_from_rfc3339(published_on).unwrap();
        assert_eq!(attributes["event_type"]["Type"], "String");
    }
}

#[test]
fn a_fresh_envelope_round_trips_through_the_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let body = json!({"client": "cliente02", "product": "product-a", "replicas": 2});
    let event_type = "mycompany.producer.event.cliente02.published".parse().unwrap();
    let mut envelope = Envelope::new(event_type, uuid::Uuid::new_v4(), body.as_object().unwrap().clone());
    envelope.attributes.retrace_intent = 4;
    envelope.attributes.extra.insert("priority".into(), json!("high"));
    envelope.metadata.publisher = Some("producer".into());
    envelope.metadata.extra.insert("region".into(), json!("eu"));
    let written = envelope.to_json();
    schema_verdict(&validator, &written).unwrap();
    assert_eq!(Envelope::from_json(&written).unwrap(), envelope);
}
