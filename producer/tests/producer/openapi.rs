//! The OpenAPI document stays true: the same routes as the router, examples the handlers
//! accept, and responses whose status and body the document describes.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::ledger::TestLedger;
use crate::provider::{producer_for, OpenIdProvider};

fn document() -> Value {
    serde_json::from_str(producer::api::OPENAPI).expect("openapi.json is JSON")
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Validates `instance` against a schema of the document (its `$ref`s resolve inside it).
fn assert_matches(doc: &Value, schema: &Value, instance: &Value, what: &str) {
    let mut root = schema.clone();
    root.as_object_mut().unwrap().insert("components".into(), doc["components"].clone());
    let validator =
        jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{what}: schema invalid: {e}"));
    let errors: Vec<String> = validator.iter_errors(instance).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{what}: {instance} does not match the document: {errors:?}");
}

/// Checks the status is documented for the operation and the body matches its schema.
async fn assert_documented(doc: &Value, path: &str, method: &str, response: reqwest::Response) -> Value {
    let status = response.status().as_u16().to_string();
    let documented = &doc["paths"][path][method]["responses"][&status];
    assert!(documented.is_object(), "{method} {path} answered {status}, which the document does not list");
    let body: Value = response.json().await.unwrap();
    let schema = &documented["content"]["application/json"]["schema"];
    assert_matches(doc, schema, &body, &format!("{method} {path} {status}"));
    body
}

#[test]
fn the_document_lists_exactly_the_routes_the_api_serves() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> =
        producer::api::routes().iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    assert_eq!(documented, served);
    for r in producer::api::routes() {
        let security = &doc["paths"][r.path][r.method]["security"];
        let open = security.as_array().is_some_and(|s| s.is_empty());
        assert_eq!(
            open, !r.guarded,
            "{} {}: the document's security says what the router enforces",
            r.method, r.path
        );
        assert!(doc["paths"][r.path][r.method]["responses"].is_object());
    }
}

#[tokio::test]
async fn the_served_document_is_the_file_and_every_example_is_accepted_as_documented() {
    let app = TestApp::spawn().await;
    let doc = document();
    let mut served: Value =
        app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    // The file, with the catalog's choices listed for the order's fields.
    let order = &mut served["components"]["schemas"]["Order"]["properties"];
    let choices =
        |field: &str, order: &mut Value| order[field].as_object_mut().unwrap().remove("enum").unwrap();
    assert_eq!(choices("environment", order), json!(["development", "production", "staging"]));
    assert_eq!(choices("hardware", order), json!(["classic", "dedicated"]));
    assert_eq!(choices("product", order), json!(["product-a", "product-b", "product-c", "product-db"]));
    assert_eq!(served, doc);

    let mut trace_id = None;
    for (path, method) in [("/api/v1/orders", "post"), ("/api/v1/events", "post")] {
        let content = &doc["paths"][path][method]["requestBody"]["content"]["application/json"];
        let example = &content["example"];
        assert_matches(&doc, &content["schema"], example, &format!("{method} {path} example"));
        let response = app.client.post(app.url(path)).bearer_auth(TOKEN).json(example).send().await.unwrap();
        assert_eq!(response.status(), 202, "{method} {path} example");
        let body = assert_documented(&doc, path, method, response).await;
        trace_id.get_or_insert(body["trace_id"].as_str().unwrap().to_owned());
    }

    let params =
        doc["paths"]["/api/v1/orders/{client}/{product}"]["delete"]["parameters"].as_array().unwrap();
    let example =
        |name: &str| params.iter().find(|p| p["name"] == name).unwrap()["example"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/orders/{}/{}", example("client"), example("product")));
    let response = app.client.delete(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 202);
    assert_documented(&doc, "/api/v1/orders/{client}/{product}", "delete", response).await;

    let url = app.url(&format!("/api/v1/traces/{}", trace_id.unwrap()));
    let response = app.client.get(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let timeline = assert_documented(&doc, "/api/v1/traces/{trace_id}", "get", response).await;
    assert!(!timeline["events"].as_array().unwrap().is_empty());

    // Without PRODUCER_DATABASE_URL the tenants answer the documented 503.
    let response = app.client.get(app.url("/api/v1/tenants")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_documented(&doc, "/api/v1/tenants", "get", response).await;

    // Refusals are documented too, with the error schema.
    let refusals =
        [("/api/v1/orders", json!({"client": "NO"})), ("/api/v1/events", json!({"client": "no-attributes"}))];
    for (path, body) in refusals {
        let response = app.client.post(app.url(path)).bearer_auth(TOKEN).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 422);
        assert_documented(&doc, path, "post", response).await;
        let response = app.client.post(app.url(path)).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_documented(&doc, path, "post", response).await;
    }
    app.stop().await;
}

/// `schemathesis run` of the served document with `--checks all` as the bearer of `token`; its
/// verdict and report.
async fn schemathesis_run(app: &TestApp, token: &str, selection: &[&str]) -> (bool, String) {
    let seed = std::env::var("EDA_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261202".into());
    let url = app.url("/api/v1/openapi.json");
    let auth = format!("Authorization: Bearer {token}");
    let mut args = vec!["run", url.as_str(), "--checks", "all", "--seed", seed.as_str(), "-H", auth.as_str()];
    args.extend_from_slice(selection);
    // Its caches (.schemathesis, .hypothesis) go to a directory of the test's own.
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let run = tokio::process::Command::new(eda_tests::tools::python_tool("schemathesis", "schemathesis"))
        .args(&args)
        .current_dir(scratch.path())
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("schemathesis runs (scripts/test-tools.d/schemathesis.sh installs it)");
    (
        run.status.success(),
        format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_with_every_check_finds_no_difference_between_the_document_and_the_server() {
    // The tenants route reads a ledger (without one it answers 503, which `not_a_server_error`
    // counts as a failure): one of the test's own, with tenants to list.
    let ledger = TestLedger::create().await;
    for (client, status) in [("cliente01", "provisioned"), ("cliente02", "failed"), ("other", "provisioning")]
    {
        ledger.tenant(client, "product-a", "dedicated", status, chrono::Utc::now()).await;
    }
    let t = eda_tests::broker::TestBroker::new().await;
    let mut config = config(&t);
    config.database_url = Some(ledger.reader_url.clone().into());
    let app = TestApp::spawn_with(t, config, true).await;
    // Every operation but the endless event stream: examples, coverage, fuzzing and stateful
    // phases (a fixed seed, so a failure reproduces; EDA_SCHEMATHESIS_SEED explores others).
    let sse = "/api/v1/traces/{trace_id}/events";
    let (ok, report) = schemathesis_run(&app, TOKEN, &["--max-examples", "20", "--exclude-path", sse]).await;
    assert!(ok && report.contains(" passed") && !report.contains("failed"), "{report}");
    assert!(report.contains("Stateful"), "every phase ran: {report}");
    // The stream stays open, so it gets its examples only; each event is checked against the
    // document's SSE schema.
    let (ok, report) = schemathesis_run(&app, TOKEN, &["--phases", "examples", "--include-path", sse]).await;
    assert!(ok && report.contains("1 passed"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_as_a_buyer_of_one_client_finds_every_refusal_documented() {
    // A buyer of acme (the provider's access token) is refused most generated clients, traces
    // and tenant filters with 403: each must be a response the document declares.
    let provider = OpenIdProvider::start().await;
    let ledger = TestLedger::create().await;
    for client in ["acme", "other"] {
        ledger.tenant(client, "product-a", "dedicated", "provisioned", chrono::Utc::now()).await;
    }
    let t = eda_tests::broker::TestBroker::new().await;
    let app = producer_for(&provider, t, |c| c.database_url = Some(ledger.reader_url.clone().into())).await;
    let buyer = provider.machine_token("acme-machine").await;
    let sse = "/api/v1/traces/{trace_id}/events";
    let (ok, report) = schemathesis_run(&app, &buyer, &["--max-examples", "10", "--exclude-path", sse]).await;
    assert!(ok && report.contains(" passed") && !report.contains("FAILURES"), "{report}");
    // Its one warning: every generated raw event was another client's (refused with 403).
    let warned = report.split("WARNINGS").nth(1).unwrap_or_default();
    assert!(!warned.contains("/api/v1/orders") && !warned.contains("/api/v1/tenants"), "{report}");
    app.stop().await;
}
