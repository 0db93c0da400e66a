//! The images' HEALTHCHECK (deploy/docker/healthcheck.sh, bash only, as in the image): it
//! passes on a live /healthz, fails naming why otherwise, and the Dockerfile uses it, which
//! checkov confirms along with its other Dockerfile checks.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use eda_common::health::{router, Health, HttpServer, Readiness};
use eda_common::metrics::Metrics;
use tokio_util::sync::CancellationToken;

fn repo(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file)
}

fn healthcheck(env: &[(&str, &str)]) -> Output {
    Command::new("bash")
        .arg(repo("deploy/docker/healthcheck.sh"))
        .env_remove("HTTP_ADDR")
        .envs(env.iter().copied())
        .output()
        .expect("bash runs the healthcheck")
}

fn said(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn the_healthcheck_passes_on_a_live_service_and_fails_naming_why() {
    // A service's own health routes, not ready: liveness must still pass.
    let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new("dbwriter")) };
    health.readiness.set("broker", false);
    let server = HttpServer::bind("127.0.0.1:0".parse().unwrap(), router(health)).await.unwrap();
    let addr = server.local_addr().to_string();
    let stop = CancellationToken::new();
    let serving = tokio::spawn(server.serve(stop.clone()));

    let alive = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || healthcheck(&[("HTTP_ADDR", &addr)])
    })
    .await
    .unwrap();
    assert!(alive.status.success(), "{}", said(&alive));

    let not_ready = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || healthcheck(&[("HTTP_ADDR", &addr), ("EDA_HEALTHCHECK_PATH", "/readyz")])
    })
    .await
    .unwrap();
    assert!(!not_ready.status.success());
    assert!(said(&not_ready).contains(&format!("{addr} answered HTTP/1.0 503")), "{}", said(&not_ready));

    stop.cancel();
    serving.await.unwrap().unwrap();
    let gone = healthcheck(&[("HTTP_ADDR", &addr)]);
    assert!(!gone.status.success());
    assert!(said(&gone).contains(&format!("nothing listens on {addr}")), "{}", said(&gone));
}

#[test]
fn without_http_addr_the_healthcheck_finds_the_service_running_here_by_its_name() {
    let proc = tempfile::tempdir().unwrap();
    let empty = proc.path().display().to_string();
    let out = healthcheck(&[("EDA_HEALTHCHECK_PROC", &empty)]);
    assert!(!out.status.success());
    assert!(
        said(&out).contains("no eda service runs in this container and HTTP_ADDR is not set"),
        "{}",
        said(&out)
    );

    // /proc/<pid>/comm keeps 15 characters: `k8s-event-expor`, whose default port is 9094.
    for (pid, comm) in [("1", "tini"), ("7", "k8s-event-expor")] {
        std::fs::create_dir(proc.path().join(pid)).unwrap();
        std::fs::write(proc.path().join(pid).join("comm"), format!("{comm}\n")).unwrap();
    }
    let out = healthcheck(&[("EDA_HEALTHCHECK_PROC", &empty)]);
    assert!(!out.status.success());
    assert!(said(&out).contains("nothing listens on 127.0.0.1:9094"), "{}", said(&out));
}

#[test]
fn the_dockerfile_passes_checkov_with_its_healthcheck() {
    let dockerfile = std::fs::read_to_string(repo("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("COPY --chmod=0755 deploy/docker/healthcheck.sh /usr/local/bin/eda-healthcheck")
    );
    assert!(dockerfile.contains(r#"CMD ["/usr/local/bin/eda-healthcheck"]"#));
    let run = Command::new(eda_tests::tools::python_tool("checkov", "checkov"))
        .args(["--framework", "dockerfile", "--quiet", "--compact", "-o", "json", "-f"])
        .arg(repo("Dockerfile"))
        .output()
        .expect("checkov runs (scripts/test-tools.d/checkov.sh installs it)");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("checkov's JSON: {e}: {}", String::from_utf8_lossy(&run.stderr)));
    let report = if report.is_array() { report[0].clone() } else { report };
    assert!(
        report["summary"]["passed"].as_u64().unwrap() >= 5,
        "checkov checked it: {:#}",
        report["summary"]
    );
    assert_eq!(report["summary"]["failed"], 0, "{:#}", report["results"]["failed_checks"]);
}
