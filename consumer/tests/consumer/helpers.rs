//! A fresh prefix per test, the consumer's modes running in-process, and small fixtures.

use std::path::PathBuf;
use std::time::Duration;

use consumer::config::RunArgs;
use eda_common::config::{parse_delays, CommonArgs};
use eda_common::service::Service;
use eda_common::{Envelope, EventType};
use eda_tests::broker::TestBroker;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const WAIT: Duration = Duration::from_secs(30);
/// Retry levels of every test runtime (`50ms,100ms`).
pub const LEVELS: usize = 2;

pub struct Harness {
    pub t: TestBroker,
    pub args: CommonArgs,
    pub shutdown: CancellationToken,
    pub runtimes: Vec<Service>,
}

impl Harness {
    /// A test prefix with short retry delays and `max_retries` retries.
    pub async fn new(max_retries: u32) -> Harness {
        eda_common::telemetry::init_for_tests();
        let t = TestBroker::new().await;
        let mut args = CommonArgs::for_prefix(&t.prefix);
        args.max_retries = max_retries;
        args.retry_delays = parse_delays("50ms,100ms").unwrap();
        args.amqp_url = Some(eda_tests::broker::amqp_url().into());
        Harness { t, args, shutdown: CancellationToken::new(), runtimes: Vec::new() }
    }

    /// A runtime for `service`, connected (so the shared topology exists).
    pub async fn runtime(&mut self, service: &str) -> Service {
        let rt = Service::start(&self.args, service, consumer::PUBLISH_TIMEOUT);
        rt.connected(WAIT).await.expect("broker reachable");
        self.runtimes.push(rt.clone());
        rt
    }

    /// Starts `consumer run` with `args` and waits until it consumes.
    pub async fn engine(&mut self, args: RunArgs) -> JoinHandle<consumer::Result<()>> {
        self.t.track_service(&args.name, LEVELS);
        let rt = self.runtime(&args.name).await;
        let stop = self.shutdown.clone();
        let ready = rt.health.readiness.clone();
        let run = tokio::spawn(async move { consumer::engine::run(&rt, args, stop).await });
        tokio::time::timeout(WAIT, ready.wait_for("consumer", true)).await.expect("engine consuming");
        run
    }

    /// Publishes an order event for `client` to `<prefix>.events`; returns it.
    pub async fn publish_order(&mut self, client: &str) -> Envelope {
        let env = order(client);
        let rt = self.runtime("test-publisher").await;
        rt.publisher.publish(&env).await.expect("publish order");
        env
    }

    pub async fn finish(self) {
        self.shutdown.cancel();
        for rt in &self.runtimes {
            rt.close().await;
        }
        self.t.cleanup().await;
    }
}

/// `consumer run` flags for a test: short timeout, given command.
pub fn run_args(name: &str, bind: &str, exec: Option<&str>, webhook: Option<&str>) -> RunArgs {
    RunArgs {
        name: name.into(),
        bindings: vec![bind.into()],
        exec: exec.map(str::to_owned),
        webhook: webhook.map(str::to_owned),
        emit: None,
        concurrency: 2,
        timeout: Duration::from_secs(20),
        ordered: false,
    }
}

/// An envelope of the seed's shape for `client`, action `published`.
pub fn order(client: &str) -> Envelope {
    let event_type = EventType::new("mycompany", "producer", client, "published").unwrap();
    let body = serde_json::json!({
        "client": client, "namespace": client, "environment": "development",
        "archtype": "saas", "hardware": "dedicated", "product": "product-a"
    });
    Envelope::new(event_type, uuid::Uuid::new_v4(), body.as_object().unwrap().clone())
}

/// A file of the repository, from the consumer crate.
pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// Writes an executable `sh` script into `dir` and returns its path.
pub fn script(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    format!("sh {}", path.display())
}

/// Reads a file a handler script wrote, as its lines.
pub fn lines_of(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}
