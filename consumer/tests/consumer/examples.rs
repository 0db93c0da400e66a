//! docs/examples: each handler runs under `consumer run --exec`, and each publisher prints an
//! envelope that both the JSON Schema and the Rust reader accept.

use consumer::config::RunArgs;
use eda_common::Envelope;
use eda_tests::broker::json;

use crate::helpers::*;

async fn handler_example_emits_a_follow_up(command: &str, enriched_by: &str) {
    let mut h = Harness::new(2).await;
    let exec = format!(
        "{command} {}",
        repo_path(&format!("docs/examples/handlers/{}", example_file(enriched_by))).display()
    );
    let args = RunArgs {
        emit: Some("enriched".into()),
        ..run_args("example", "*.*.event.*.published", Some(&exec), None)
    };
    let run = h.engine(args).await;
    let out = h.t.tap("out", "*.example.event.*.enriched").await;
    let order = h.publish_order("cliente07").await;
    let got = h.t.take(&out, 1, WAIT).await;
    assert_eq!(got[0].routing_key.as_str(), "mycompany.example.event.cliente07.enriched");
    let body = json(&got[0]);
    assert_eq!(body["enriched_by"], enriched_by, "{body}");
    assert_eq!(body["client"], "cliente07");
    assert_eq!(body["MessageAttributes"]["trace_id"], order.trace_id().to_string());
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}

fn example_file(kind: &str) -> &'static str {
    match kind {
        "python" => "enrich.py",
        "node" => "enrich.js",
        _ => "enrich.sh",
    }
}

#[tokio::test]
async fn the_python_handler_example_runs_under_the_engine() {
    handler_example_emits_a_follow_up("python3", "python").await;
}

#[tokio::test]
async fn the_node_handler_example_runs_under_the_engine() {
    handler_example_emits_a_follow_up("node", "node").await;
}

#[tokio::test]
async fn the_shell_handler_example_runs_under_the_engine() {
    handler_example_emits_a_follow_up("sh", "sh").await;
}

fn printed_envelope(program: &str, file: &str) -> Vec<u8> {
    let path = repo_path(&format!("docs/examples/publishers/{file}"));
    let out = std::process::Command::new(program)
        .arg(&path)
        .args(["--client", "cliente02", "--product", "product-b", "--print"])
        .output()
        .unwrap_or_else(|e| {
            panic!("run {program} {}: {e} (scripts/test-tools.sh installs it)", path.display())
        });
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn assert_valid_envelope(bytes: &[u8], app: &str) {
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo_path("docs/envelope.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let instance: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let errors: Vec<String> = validator.iter_errors(&instance).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "schema errors: {errors:?}");
    let env = Envelope::from_json(bytes).unwrap();
    assert_eq!(env.event_type().as_str(), format!("mycompany.{app}.event.cliente02.published"));
    assert_eq!(env.body_str("product"), Some("product-b"));
    assert_eq!(env.attributes.retrace_intent, 0);
    assert!(!env.trace_id().is_nil());
}

#[test]
fn the_python_publisher_example_builds_a_valid_envelope() {
    assert_valid_envelope(&printed_envelope("python3", "publish.py"), "shop");
}

#[test]
fn the_node_publisher_example_builds_a_valid_envelope() {
    assert_valid_envelope(&printed_envelope("node", "publish.js"), "shop");
}
