//! `promtool check metrics` on what each service's `/metrics` answers a plain scraper (the
//! classic text format), and OpenMetrics to one that asks for it, as Prometheus does.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use eda_common::health::{self, Health, HttpServer, Readiness};
use eda_common::metrics::Metrics;

/// A service's health routes with every metric it registers at start.
fn service_health(service: &str) -> Health {
    let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new(service)) };
    match service {
        "producer" => drop(producer::http_metrics::HttpMetrics::register(&health)),
        "dbwriter" => drop(dbwriter::metrics::WriteMetrics::register(&health.metrics)),
        "provisioner" => drop(provisioner::metrics::ProvisionerMetrics::register(&health.metrics)),
        "k8s-event-exporter" => drop(k8s_event_exporter::metrics::ExporterMetrics::register(&health.metrics)),
        _ => {}
    }
    health.metrics.dead("malformed");
    health
}

fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (scripts/test-tools.d/promtool.sh installs it)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success() && said.trim().is_empty(), said)
}

#[tokio::test]
async fn promtool_finds_nothing_to_lint_in_any_services_metrics_and_prometheus_gets_openmetrics() {
    let http = reqwest::Client::new();
    for service in ["producer", "consumer", "dbwriter", "provisioner", "k8s-event-exporter"] {
        let server =
            HttpServer::bind("127.0.0.1:0".parse().unwrap(), health::router(service_health(service)))
                .await
                .unwrap();
        let url = format!("http://{}/metrics", server.local_addr());
        let stop = tokio_util::sync::CancellationToken::new();
        let serving = tokio::spawn(server.serve(stop.clone()));

        let plain = http.get(&url).send().await.unwrap();
        assert_eq!(plain.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8", "{service}");
        let text = plain.text().await.unwrap();
        assert!(text.contains(&format!("eda_messages_consumed_total{{service=\"{service}\"}} 0")), "{text}");
        let (clean, said) = promtool_check(&text);
        assert!(clean, "promtool check metrics on {service}'s /metrics:\n{said}\n{text}");

        let scraped = http
            .get(&url)
            .header("accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
            .send()
            .await
            .unwrap();
        assert!(scraped.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"));
        assert!(scraped.text().await.unwrap().ends_with("# EOF\n"), "{service}: OpenMetrics");
        stop.cancel();
        serving.await.unwrap().unwrap();
    }
}

#[test]
fn promtool_would_catch_what_the_openmetrics_answer_looked_like_to_it() {
    let om = Metrics::new("probe").encode();
    let (clean, said) = promtool_check(&om);
    assert!(!clean && said.contains("no help text"), "promtool misreads OpenMetrics counters: {said}");
}

/// Runs promtool from the repository root; its verdict and what it said.
fn promtool(args: &[&str]) -> (bool, String) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = Command::new("promtool").args(args).current_dir(root).output().expect("promtool runs");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), said)
}

#[test]
fn the_alert_rules_pass_promtool_and_each_alert_fires_on_trouble_and_stays_quiet_when_healthy() {
    let (ok, said) = promtool(&["check", "rules", "helm/eda/files/prometheus-rules.yaml"]);
    assert!(ok && said.contains("SUCCESS: 5 rules found"), "{said}");
    // tests/fixtures/prometheus/rules.test.yaml: a firing and a quiet case for every alert.
    let (ok, said) = promtool(&["test", "rules", "tests/fixtures/prometheus/rules.test.yaml"]);
    assert!(ok && said.contains("SUCCESS"), "{said}");
    let tests =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/prometheus/rules.test.yaml"))
            .unwrap();
    for alert in [
        "EdaDeadLettersGrowing",
        "EdaServiceNotReady",
        "EdaProvisioningFailed",
        "EdaStaleOrders",
        "EdaProvisioningSlow",
    ] {
        assert!(
            tests.matches(&format!("alertname: {alert}\n")).count() >= 2,
            "{alert} needs a firing and a quiet case"
        );
    }
}

#[test]
fn promtool_test_rules_would_catch_an_alert_that_does_not_fire() {
    // The same tests against rules whose dead-letter alert can never fire must fail.
    let dir = tempfile::tempdir().unwrap();
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../helm/eda/files/prometheus-rules.yaml"
    ))
    .unwrap();
    let broken = rules.replace(
        "increase(eda_messages_dead_lettered_total[15m])) > 0",
        "increase(eda_messages_dead_lettered_total[15m])) > 1e9",
    );
    assert_ne!(broken, rules);
    std::fs::write(dir.path().join("rules.yaml"), broken).unwrap();
    let tests =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/prometheus/rules.test.yaml"))
            .unwrap();
    let tests = tests.replace("../../../helm/eda/files/prometheus-rules.yaml", "rules.yaml");
    std::fs::write(dir.path().join("test.yaml"), tests).unwrap();
    let out = Command::new("promtool")
        .args(["test", "rules", "test.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}
