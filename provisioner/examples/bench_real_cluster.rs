//! Provisioning on the real test control plane (`scripts/kube/control-plane.sh`): eda against
//! a bare `helm upgrade --install --wait` loop, in the same run, on the same cluster.
//!
//! - **eda**: the real provisioner in-process (`Application::build`, as in production) with
//!   the control plane's admin kubeconfig, the real helm and the built-in catalog's
//!   `product-a` (the local chart `helm/demo-product`). Every order is published at once
//!   (all confirms in flight together); the run ends when the last `provisioned` arrives.
//! - **bare**: the limit, helm itself: `concurrency` workers, each creating a tenant's
//!   namespace and then running helm with the same chart, arguments and values file shape.
//!
//! Both run helm through the same wrapper, a bash script that reads `$EPOCHREALTIME` (a
//! builtin: no fork) just before and just after the real helm and writes the two to a file
//! per call. eda's own time per tenant is then
//! `(provisioned received) − (provisioning.published_on) − (helm wall time)`: from the moment
//! the handler starts on the order (it stamps `provisioning` then) to the `provisioned` event
//! reaching a tap queue, less the helm process. The wrapper's own start-up (bash) is counted
//! as eda's; the bare runs measure it.
//!
//! Tenants are `<prefix>-tNNN` (burst) and `<prefix>-sNNN` (sequential phase) under a fresh
//! broker prefix per run; each run deletes its namespaces at the end (bounded wait).
//!
//! `cargo run --release -p provisioner --example bench_real_cluster -- --tenants 40,200 --concurrency 4 --rounds 3`
//! (`--profile-applies N`: the four applies of the baseline timed one by one instead; see
//! docs/benchmarks/provisioner.md.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use eda_common::config::parse_delays;
use eda_tests::broker::TestBroker;
use eda_tests::control_plane::ControlPlane;
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::FieldTable;
use provisioner::Config;
use serde_json::{json, Value};
use tokio::sync::mpsc;

#[path = "bench_support/mod.rs"]
mod bench_support;
use bench_support::{order, peak_rss_kb, publish, publish_all, Running};

#[derive(Parser, Debug)]
#[command(about = "eda against a bare helm loop on the real test control plane")]
struct Args {
    /// Burst sizes, each measured on its own (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "40,200")]
    tenants: Vec<usize>,
    /// eda's `--concurrency` and the bare loop's number of workers.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Rounds per burst size; a round is one bare and one eda run, the first of the two
    /// alternating from round to round (bare, eda, eda, bare, …).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Orders sent one at a time before each eda burst: (order → provisioned) − helm, with
    /// nothing queued.
    #[arg(long, default_value_t = 10)]
    sequential: usize,
    /// Longest wait for a run's namespaces to be gone before the next run starts.
    #[arg(long, default_value_t = 300)]
    cleanup_secs: u64,
    /// Profile instead: time each of the baseline's four server-side applies (and the three
    /// namespaced ones concurrently), this many probes idle and as many under a bare helm
    /// burst of `--tenants`' first size.
    #[arg(long)]
    profile_applies: Option<usize>,
    /// Longest wait for a burst.
    #[arg(long, default_value_t = 1200)]
    burst_timeout_secs: u64,
}

/// Microseconds since the Unix epoch (the wrapper's `$EPOCHREALTIME` and `published_on` share
/// this clock).
type Us = i64;

fn now_us() -> Us {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as Us
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cp = ControlPlane::connect().await;
    let dir = tempfile::tempdir()?;
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    // Production's logging (JSON lines, the default filter unless RUST_LOG) into a file: its
    // cost is eda's, and its `running helm` lines time the spawn.
    let log = std::fs::File::create(dir.path().join("provisioner.log"))?;
    tracing::subscriber::set_global_default(eda_common::telemetry::json_subscriber(std::sync::Mutex::new(
        log,
    )))
    .ok();
    let env = Env {
        cp,
        wrapper: write_wrapper(dir.path(), &ControlPlane::default_helm())?,
        dir: dir.path().to_path_buf(),
        repo_root,
        concurrency: args.concurrency,
        ticks: clock_ticks(),
    };
    println!(
        "real control plane, helm {}, concurrency {}, rounds {}, sequential {}; nproc {}",
        ControlPlane::default_helm().display(),
        args.concurrency,
        args.rounds,
        args.sequential,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if let Some(probes) = args.profile_applies {
        let load = args.tenants.first().copied().unwrap_or(80);
        env.profile_applies(probes, load, Duration::from_secs(args.cleanup_secs)).await;
        return Ok(());
    }
    let mut results: Vec<RunResult> = Vec::new();
    let mut run_no = 0;
    for &tenants in &args.tenants {
        for round in 0..args.rounds {
            let order = if round % 2 == 0 { [Kind::Bare, Kind::Eda] } else { [Kind::Eda, Kind::Bare] };
            for kind in order {
                run_no += 1;
                let result = match kind {
                    Kind::Bare => env.bare(tenants).await?,
                    Kind::Eda => env.eda(tenants, args.sequential, args.burst_timeout_secs).await?,
                };
                result.print(run_no);
                env.cleanup(&result.prefix, Duration::from_secs(args.cleanup_secs)).await;
                results.push(result);
            }
        }
    }
    summary(&results, &args.tenants);
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bare,
    Eda,
}

struct Env {
    cp: ControlPlane,
    wrapper: PathBuf,
    dir: PathBuf,
    repo_root: PathBuf,
    concurrency: usize,
    ticks: f64,
}

/// One helm call as the wrapper saw it.
#[derive(Debug, Clone, Copy)]
struct HelmCall {
    start: Us,
    end: Us,
    ok: bool,
}

impl HelmCall {
    fn wall(&self) -> Us {
        self.end - self.start
    }
}

/// What the tap saw of one tenant.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    /// `provisioning.published_on` (the handler started on the order).
    started: Option<Us>,
    provisioning_received: Option<Us>,
    /// `provisioned.published_on` (helm returned, the handler built its event).
    finished: Option<Us>,
    provisioned_received: Option<Us>,
    failed: bool,
}

#[derive(Debug, Default)]
struct RunResult {
    kind: Option<Kind>,
    prefix: String,
    tenants: usize,
    ok: usize,
    /// First publish (eda) or start (bare) → last tenant done.
    makespan: Duration,
    /// Order published (bare: the loop started) → provisioned received (bare: helm returned).
    latency: Vec<Us>,
    /// Helm's wall time, per tenant.
    helm: Vec<Us>,
    /// eda: handler start → `provisioned` received, less helm. Bare: spawn → helm start +
    /// helm end → wait returned (the wrapper and process overhead alone).
    own: Vec<Us>,
    /// eda: where `own` goes (p50/p99 of each part).
    parts: Vec<(&'static str, Vec<Us>)>,
    seq_parts: Vec<(&'static str, Vec<Us>)>,
    /// The sequential phase: (order → provisioned) − helm, and helm.
    seq_own: Vec<Us>,
    seq_latency: Vec<Us>,
    /// Share of `concurrency × makespan` spent inside a tenant's handling (eda) / worker (bare).
    busy: f64,
    /// CPU seconds over the burst: this process (eda + bench client), its children (the
    /// wrapper and helm), the control plane's processes, RabbitMQ, and the whole machine.
    cpu: Vec<(&'static str, f64)>,
    machine_busy: f64,
    load: (String, String),
    peak_rss_kb: u64,
}

impl Env {
    fn tenant_values(&self, ns: &str) -> Value {
        // The shape eda's release values have for product-a (catalog ← trace fields).
        let trace_id = uuid::Uuid::new_v4().to_string();
        json!({"replicaCount": 1, "message": "Product A",
               "podAnnotations": {"trace_id": trace_id, "client": ns},
               "podLabels": {"trace_id": trace_id}})
    }

    /// The limit: `concurrency` workers, each creating a namespace, then running helm.
    async fn bare(&self, tenants: usize) -> anyhow::Result<RunResult> {
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let load_before = loadavg();
        let cpu_before = CpuSnapshot::take();
        let started = Instant::now();
        let started_us = now_us();
        let next = Arc::new(AtomicUsize::new(0));
        let values: Arc<Vec<Value>> =
            Arc::new((0..tenants).map(|i| self.tenant_values(&tenant(&prefix, 't', i))).collect());
        let mut workers = Vec::new();
        for _ in 0..self.concurrency {
            let next = next.clone();
            let cp = self.cp.clone();
            let (wrapper, dir, chart) =
                (self.wrapper.clone(), self.dir.clone(), self.repo_root.join("helm/demo-product"));
            let (prefix, values) = (prefix.clone(), values.clone());
            workers.push(tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= tenants {
                        break;
                    }
                    let ns = tenant(&prefix, 't', i);
                    let begun = now_us();
                    cp.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
                        .await;
                    let file = dir.join(format!("{ns}.values.yaml"));
                    std::fs::write(&file, serde_yaml::to_string(&values[i]).unwrap()).unwrap();
                    let spawned = now_us();
                    let out = tokio::process::Command::new(&wrapper)
                        .args(["upgrade", "--install", "product-a"])
                        .arg(&chart)
                        .args(["--namespace", &ns, "--version", "0.1.0", "-f"])
                        .arg(&file)
                        .args(["--wait", "--timeout", "300s", "--output", "json", "--kubeconfig"])
                        .arg(&cp.kubeconfig)
                        .stdin(std::process::Stdio::null())
                        .output()
                        .await
                        .expect("run the helm wrapper");
                    let returned = now_us();
                    std::fs::remove_file(&file).ok();
                    if !out.status.success() {
                        eprintln!("bare: helm failed for {ns}: {}", String::from_utf8_lossy(&out.stderr));
                    }
                    done.push((ns, begun, spawned, returned, out.status.success()));
                }
                done
            }));
        }
        let mut done = Vec::new();
        for w in workers {
            done.extend(w.await?);
        }
        let makespan = started.elapsed();
        let (cpu, machine_busy) = cpu_before.since(self.ticks);
        let calls = self.helm_calls(&prefix);
        let mut r = RunResult {
            kind: Some(Kind::Bare),
            prefix,
            tenants,
            makespan,
            cpu,
            machine_busy,
            load: (load_before, loadavg()),
            ..Default::default()
        };
        let mut busy = 0;
        for (ns, begun, spawned, returned, ok) in done {
            r.ok += usize::from(ok);
            r.latency.push(returned - started_us);
            busy += returned - begun;
            if let Some(call) = calls.get(&ns).and_then(|c| c.last()) {
                r.helm.push(call.wall());
                r.own.push((call.start - spawned) + (returned - call.end));
            }
        }
        r.busy = busy as f64 / (self.concurrency as f64 * makespan.as_micros() as f64);
        Ok(r)
    }

    /// eda: the provisioner in-process, every order published at once.
    async fn eda(&self, tenants: usize, sequential: usize, timeout_secs: u64) -> anyhow::Result<RunResult> {
        let t = TestBroker::new().await;
        let mut config = Config::for_prefix(&t.prefix);
        config.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
        config.common.retry_delays = parse_delays("1s").map_err(anyhow::Error::msg)?;
        config.common.http_addr = Some("127.0.0.1:0".parse()?);
        config.kubeconfig = Some(self.cp.kubeconfig.clone());
        config.helm_bin = self.wrapper.clone();
        config.helm_timeout = Duration::from_secs(300);
        config.chart_root = self.repo_root.clone();
        config.concurrency = self.concurrency;
        let provisioner = Running::start(&t, config, "*.provisioner.event.#").await?;
        let tap = provisioner.tap.clone();
        let mut events = tap_stream(&t, &tap).await;
        let mut seen: HashMap<String, Seen> = HashMap::new();

        // Sequential: one order at a time, nothing queued.
        let mut seq = Vec::new();
        for i in 0..sequential {
            let client = tenant(&t.prefix, 's', i);
            let published = now_us();
            publish(&t, &client).await;
            wait_done(&mut events, &mut seen, std::slice::from_ref(&client), Duration::from_secs(300)).await;
            seq.push((client, published));
        }

        // The burst.
        let clients: Vec<String> = (0..tenants).map(|i| tenant(&t.prefix, 't', i)).collect();
        let load_before = loadavg();
        let cpu_before = CpuSnapshot::take();
        let started = Instant::now();
        let published = publish_all(&t, &clients, now_us).await;
        let finished = wait_done(&mut events, &mut seen, &clients, Duration::from_secs(timeout_secs)).await;
        let makespan = started.elapsed();
        let (cpu, machine_busy) = cpu_before.since(self.ticks);
        let load_after = loadavg();
        provisioner.stop().await?;
        t.cleanup().await;

        let calls = self.helm_calls(&t.prefix);
        let helm_of = |client: &str| calls.get(client).and_then(|c| c.last()).copied();
        let mut r = RunResult {
            kind: Some(Kind::Eda),
            prefix: t.prefix.clone(),
            tenants,
            makespan,
            cpu,
            machine_busy,
            load: (load_before, load_after),
            peak_rss_kb: peak_rss_kb(),
            ..Default::default()
        };
        if !finished {
            eprintln!("eda: the burst did not finish within {timeout_secs} s");
        }
        let launched = self.helm_launches(&t.prefix);
        if launched.is_empty() {
            eprintln!("eda: no `running helm` log lines (RUST_LOG hides info?); the parts stay empty");
        }
        let seq_clients: Vec<String> = seq.iter().map(|(c, _)| c.clone()).collect();
        r.seq_parts = parts_of(&seq_clients, &seen, &calls, &launched);
        r.parts = parts_of(&clients, &seen, &calls, &launched);
        for (client, published) in &seq {
            let (Some(s), Some(h)) = (seen.get(client), helm_of(client)) else { continue };
            if let Some(received) = s.provisioned_received {
                r.seq_latency.push(received - published);
                r.seq_own.push(received - published - h.wall());
            }
        }
        let mut busy = 0;
        for (client, published) in clients.iter().zip(&published) {
            let Some(s) = seen.get(client) else { continue };
            let (Some(start), Some(received)) = (s.started, s.provisioned_received) else { continue };
            r.ok += 1;
            r.latency.push(received - published);
            busy += received - start;
            let calls_here = calls.get(client).map_or(0, Vec::len);
            if calls_here != 1 {
                eprintln!("eda: {client} ran helm {calls_here} times");
            }
            let Some(h) = helm_of(client) else { continue };
            if !h.ok {
                eprintln!("eda: {client}'s last helm call failed");
            }
            r.helm.push(h.wall());
            r.own.push(received - start - h.wall());
        }
        r.busy = busy as f64 / (self.concurrency as f64 * makespan.as_micros() as f64);
        Ok(r)
    }

    /// Each apply of the baseline timed on its own: in eda's order (Namespace, ResourceQuota,
    /// LimitRange, NetworkPolicy, one after the other) and with the three namespaced ones
    /// concurrently, alternating; first with nothing else of ours running, then under a bare
    /// helm burst.
    async fn profile_applies(&self, probes: usize, load: usize, cleanup: Duration) {
        use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota};
        use k8s_openapi::api::networking::v1::NetworkPolicy;
        use kube::api::{Api, Patch};
        use provisioner::objects::{limit_range_for, namespace_for, network_policy_for, resource_quota_for};

        let catalog = provisioner::catalog::Catalog::load(None).expect("the built-in catalog");
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let client = self.cp.client();
        let params = provisioner::cluster::apply_params();
        let next = AtomicUsize::new(0);
        // One probe: (ns, rq, lr, np, total) in µs; `concurrent` applies the last three at once.
        let probe = |concurrent: bool| {
            let (client, params, catalog, next) = (client.clone(), params.clone(), &catalog, &next);
            let prefix = prefix.clone();
            async move {
                let name = tenant(&prefix, 'p', next.fetch_add(1, Ordering::Relaxed));
                let order = provisioner::order::Order::from_envelope(&order(&name).0, catalog).unwrap();
                let timed = |t0: Us| now_us() - t0;
                let t0 = now_us();
                let ns = namespace_for(&order, catalog);
                Api::<Namespace>::all(client.clone())
                    .patch(&name, &params, &Patch::Apply(&ns))
                    .await
                    .unwrap();
                let ns_us = timed(t0);
                let rq = async {
                    let t = now_us();
                    let o = resource_quota_for(&order, catalog);
                    let api = Api::<ResourceQuota>::namespaced(client.clone(), &name);
                    api.patch(o.metadata.name.as_deref().unwrap(), &params, &Patch::Apply(&o)).await.unwrap();
                    timed(t)
                };
                let lr = async {
                    let t = now_us();
                    let o = limit_range_for(&order, catalog);
                    let api = Api::<LimitRange>::namespaced(client.clone(), &name);
                    api.patch(o.metadata.name.as_deref().unwrap(), &params, &Patch::Apply(&o)).await.unwrap();
                    timed(t)
                };
                let np = async {
                    let t = now_us();
                    let o = network_policy_for(&order, None);
                    let api = Api::<NetworkPolicy>::namespaced(client.clone(), &name);
                    api.patch(o.metadata.name.as_deref().unwrap(), &params, &Patch::Apply(&o)).await.unwrap();
                    timed(t)
                };
                let (rq, lr, np) =
                    if concurrent { tokio::join!(rq, lr, np) } else { (rq.await, lr.await, np.await) };
                [ns_us, rq, lr, np, timed(t0)]
            }
        };
        let report = |what: &str, results: &[[Us; 5]]| {
            let col = |i: usize| results.iter().map(|r| r[i]).collect::<Vec<_>>();
            println!(
                "  {what:<44} n={:>3}  Namespace {:>5.1} / {:>5.1}  ResourceQuota {:>5.1} / {:>5.1}  \
                 LimitRange {:>5.1} / {:>5.1}  NetworkPolicy {:>5.1} / {:>5.1}  all four {:>5.1} / {:>5.1} ms",
                results.len(),
                pct(&col(0), 0.5),
                pct(&col(0), 0.99),
                pct(&col(1), 0.5),
                pct(&col(1), 0.99),
                pct(&col(2), 0.5),
                pct(&col(2), 0.99),
                pct(&col(3), 0.5),
                pct(&col(3), 0.99),
                pct(&col(4), 0.5),
                pct(&col(4), 0.99),
            );
        };
        println!(
            "profile of the baseline applies (p50 / p99), {probes} probes a condition; load {}",
            loadavg()
        );
        let (mut seq, mut par) = (Vec::new(), Vec::new());
        for i in 0..2 * probes {
            if i % 2 == 0 {
                seq.push(probe(false).await);
            } else {
                par.push(probe(true).await);
            }
        }
        report("idle, one after the other (as eda)", &seq);
        report("idle, namespaced three concurrently", &par);
        let done = std::sync::atomic::AtomicBool::new(false);
        let (bare, (seq, par)) = tokio::join!(
            async {
                let r = self.bare(load).await;
                done.store(true, Ordering::Relaxed);
                r
            },
            async {
                let (mut seq, mut par) = (Vec::new(), Vec::new());
                tokio::time::sleep(Duration::from_secs(2)).await;
                let mut i = 0;
                while !done.load(Ordering::Relaxed) && i < 2 * probes {
                    if i % 2 == 0 {
                        seq.push(probe(false).await);
                    } else {
                        par.push(probe(true).await);
                    }
                    i += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                (seq, par)
            }
        );
        let bare = bare.expect("the bare burst");
        let under = format!("under a bare helm burst ({} tenants)", bare.tenants);
        report(&format!("{under}, one after the other"), &seq);
        report(&format!("{under}, concurrently"), &par);
        println!("  the bare burst itself: {:.1} tenants/min; load {}", bare.per_minute(), loadavg());
        self.cleanup(&prefix, cleanup).await;
        self.cleanup(&bare.prefix, cleanup).await;
    }

    /// The wrapper's records of this prefix's tenants: namespace → calls, in order.
    fn helm_calls(&self, prefix: &str) -> HashMap<String, Vec<HelmCall>> {
        let mut calls: HashMap<String, Vec<HelmCall>> = HashMap::new();
        let Ok(entries) = std::fs::read_dir(self.dir.join("calls")) else { return calls };
        for entry in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
            let f: Vec<&str> = text.split_whitespace().collect();
            if f.len() < 4 || !f[3].starts_with(&format!("{prefix}-")) {
                continue;
            }
            let us = |s: &str| {
                s.chars().filter(char::is_ascii_digit).collect::<String>().parse::<Us>().unwrap_or(0)
            };
            let call = HelmCall { start: us(f[0]), end: us(f[1]), ok: f[2] == "0" };
            calls.entry(f[3].to_string()).or_default().push(call);
        }
        for v in calls.values_mut() {
            v.sort_by_key(|c| c.start);
        }
        calls
    }

    /// When the provisioner logged "running helm" (just before the spawn), per namespace.
    fn helm_launches(&self, prefix: &str) -> HashMap<String, Us> {
        let log = std::fs::read_to_string(self.dir.join("provisioner.log")).unwrap_or_default();
        let mut launched = HashMap::new();
        for line in log.lines().filter(|l| l.contains("running helm")) {
            let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
            let args = v["args"].as_str().unwrap_or_default();
            let Some(ns) = args.split("\"--namespace\", \"").nth(1).and_then(|r| r.split('"').next()) else {
                continue;
            };
            let at = v["timestamp"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
            if let (true, Some(at)) = (ns.starts_with(&format!("{prefix}-")), at) {
                launched.insert(ns.to_string(), at.timestamp_micros());
            }
        }
        launched
    }

    /// Deletes the run's namespaces and waits, at most `within`, until they are gone.
    async fn cleanup(&self, prefix: &str, within: Duration) {
        let started = Instant::now();
        let mine = |cp: &ControlPlane| {
            let cp = cp.clone();
            let prefix = format!("{prefix}-");
            async move {
                cp.list("namespaces", None, None)
                    .await
                    .into_iter()
                    .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
                    .filter(|n| n.starts_with(&prefix))
                    .collect::<Vec<_>>()
            }
        };
        let names = mine(&self.cp).await;
        for ns in &names {
            self.cp.delete("namespaces", None, ns).await;
        }
        loop {
            let left = mine(&self.cp).await.len();
            if left == 0 {
                println!("  cleanup: {} namespaces deleted in {:.1?}", names.len(), started.elapsed());
                break;
            }
            if started.elapsed() > within {
                println!(
                    "  cleanup: {left} of {} namespaces still terminating after {within:?}; moving on",
                    names.len()
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        for entry in std::fs::read_dir(self.dir.join("calls")).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with(&format!("{prefix}-")) {
                std::fs::remove_file(entry.path()).ok();
            }
        }
    }
}

/// Where eda's own time goes, per tenant, in five consecutive parts (p50/p99 each).
fn parts_of(
    clients: &[String],
    seen: &HashMap<String, Seen>,
    calls: &HashMap<String, Vec<HelmCall>>,
    launched: &HashMap<String, Us>,
) -> Vec<(&'static str, Vec<Us>)> {
    let names = [
        "provisioning published",
        "4 applies + values file",
        "spawn + wrapper start",
        "helm ended → event built",
        "event → tap received",
    ];
    let mut parts: Vec<Vec<Us>> = vec![Vec::new(); names.len()];
    for client in clients {
        let Some(s) = seen.get(client) else { continue };
        let Some(h) = calls.get(client).and_then(|c| c.last()) else { continue };
        if let (Some(start), Some(p_recv), Some(launch), Some(built), Some(received)) =
            (s.started, s.provisioning_received, launched.get(client), s.finished, s.provisioned_received)
        {
            parts[0].push(p_recv - start);
            parts[1].push(launch - p_recv);
            parts[2].push(h.start - launch);
            parts[3].push(built - h.end);
            parts[4].push(received - built);
        }
    }
    names.into_iter().zip(parts).collect()
}

fn tenant(prefix: &str, kind: char, i: usize) -> String {
    format!("{prefix}-{kind}{i:03}")
}

/// The wrapper: the real helm between two reads of `$EPOCHREALTIME`, one record per call.
fn write_wrapper(dir: &Path, helm: &Path) -> anyhow::Result<PathBuf> {
    let calls = dir.join("calls");
    std::fs::create_dir_all(&calls)?;
    let path = dir.join("helm-timed");
    let script = format!(
        "#!/bin/bash\n\
         # bench_real_cluster: helm's wall time, measured around the real helm.\n\
         start=$EPOCHREALTIME\n\
         '{helm}' \"$@\"\n\
         rc=$?\n\
         end=$EPOCHREALTIME\n\
         ns=; prev=\n\
         for a in \"$@\"; do [ \"$prev\" = --namespace ] && ns=$a; prev=$a; done\n\
         echo \"$start $end $rc $ns\" > '{calls}'/\"$ns.$$\"\n\
         exit $rc\n",
        helm = helm.display(),
        calls = calls.display()
    );
    std::fs::write(&path, script)?;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    Ok(path)
}

/// One event of the provisioner's, as the tap received it.
struct Tapped {
    client: String,
    action: String,
    published_on: Option<Us>,
    received: Us,
}

async fn tap_stream(t: &TestBroker, queue: &str) -> mpsc::UnboundedReceiver<Tapped> {
    let (tx, rx) = mpsc::unbounded_channel();
    let channel = t.channel().clone();
    let mut consumer = channel
        .basic_consume(queue.into(), "bench".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .expect("consume the tap");
    tokio::spawn(async move {
        while let Some(Ok(d)) = consumer.next().await {
            let received = now_us();
            d.acker.ack(BasicAckOptions::default()).await.ok();
            let body: Value = serde_json::from_slice(&d.data).unwrap_or_default();
            let attributes = &body["MessageAttributes"];
            let event_type = attributes["event_type"]["Value"].as_str().unwrap_or_default();
            let published_on = attributes["published_on"]
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.timestamp_micros());
            let tapped = Tapped {
                client: body["client"].as_str().unwrap_or_default().to_string(),
                action: event_type.rsplit('.').next().unwrap_or_default().to_string(),
                published_on,
                received,
            };
            if tx.send(tapped).is_err() {
                break;
            }
        }
    });
    rx
}

/// Records events until every one of `clients` is provisioned or failed; false on timeout.
async fn wait_done(
    events: &mut mpsc::UnboundedReceiver<Tapped>,
    seen: &mut HashMap<String, Seen>,
    clients: &[String],
    within: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let is_done = |s: Option<&Seen>| s.is_some_and(|s| s.provisioned_received.is_some() || s.failed);
    let mut pending = clients.iter().filter(|c| !is_done(seen.get(*c))).count();
    while pending > 0 {
        let Ok(Some(e)) = tokio::time::timeout_at(deadline, events.recv()).await else { return false };
        let s = seen.entry(e.client.clone()).or_default();
        let was_done = is_done(Some(s));
        match e.action.as_str() {
            "provisioning" => {
                s.started = e.published_on;
                s.provisioning_received = Some(e.received);
            }
            "provisioned" => {
                s.finished = e.published_on;
                s.provisioned_received = Some(e.received);
            }
            "failed" => {
                eprintln!("eda: {} failed", e.client);
                s.failed = true;
            }
            _ => {}
        }
        if !was_done && is_done(Some(s)) && clients.contains(&e.client) {
            pending -= 1;
        }
    }
    true
}

/// CPU ticks of the processes that share the machine, and of the machine.
struct CpuSnapshot {
    procs: Vec<(&'static str, u64)>,
    machine: (u64, u64),
}

const CONTROL_PLANE: [(&str, &str); 5] = [
    ("kube-apiserver", "kube-apiserver"),
    ("etcd", "etcd"),
    ("kube-controller-manager", "controller-manager"),
    ("kube-scheduler", "scheduler"),
    ("fake-kubelet", "fake-kubelet"),
];

impl CpuSnapshot {
    fn take() -> Self {
        let own = proc_ticks("self");
        let mut procs = vec![("eda + bench (this process)", own.0), ("helm + wrapper (children)", own.1)];
        let run = std::env::var_os("EDA_KUBE_RUN").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/eda-kube/run")
        });
        for (file, name) in CONTROL_PLANE {
            let pid = std::fs::read_to_string(run.join(format!("{file}.pid"))).unwrap_or_default();
            procs.push((name, proc_ticks(pid.trim()).0));
        }
        procs.push(("rabbitmq", find_pid("beam.smp").map_or(0, |p| proc_ticks(&p).0)));
        CpuSnapshot { procs, machine: machine_ticks() }
    }

    /// CPU seconds per process since the snapshot, and the machine's busy share (all cores).
    fn since(&self, ticks: f64) -> (Vec<(&'static str, f64)>, f64) {
        let now = CpuSnapshot::take();
        let mut cpu: Vec<(&'static str, f64)> = self
            .procs
            .iter()
            .zip(&now.procs)
            .map(|((name, before), (_, after))| (*name, after.saturating_sub(*before) as f64 / ticks))
            .collect();
        let busy = now.machine.0.saturating_sub(self.machine.0) as f64;
        let total = now.machine.1.saturating_sub(self.machine.1).max(1) as f64;
        // The rest of the machine's busy time: other engineers' builds and tests, the kernel.
        let ours: f64 = cpu.iter().map(|(_, s)| s).sum();
        cpu.push(("everything else", (busy / ticks - ours).max(0.0)));
        (cpu, busy / total)
    }
}

/// (utime + stime, cutime + cstime) of a process, in clock ticks; (0, 0) if it is not there.
fn proc_ticks(pid: &str) -> (u64, u64) {
    if pid.is_empty() {
        return (0, 0);
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the `(comm)`: state is field 3, so field n is at index n − 3; utime is 14.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let at = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (at(14) + at(15), at(16) + at(17))
}

/// (busy, total) ticks of all cores, from /proc/stat.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let total: u64 = cpu.iter().take(8).sum();
    let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

fn find_pid(comm: &str) -> Option<String> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().to_string();
        let c = std::fs::read_to_string(e.path().join("comm")).ok()?;
        (name.chars().all(|c| c.is_ascii_digit()) && c.trim() == comm).then_some(name)
    })
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Nearest-rank percentile, in milliseconds.
fn pct(values: &[Us], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1] as f64 / 1000.0
}

impl RunResult {
    fn per_minute(&self) -> f64 {
        self.ok as f64 * 60.0 / self.makespan.as_secs_f64()
    }

    fn print(&self, n: usize) {
        let kind = if self.kind == Some(Kind::Eda) { "eda " } else { "bare" };
        println!(
            "run {n:>2} {kind} {} tenants ({}): {}/{} in {:.1} s = {:.1} tenants/min; order → done p50 {:.0} ms, p99 {:.0} ms; \
             helm p50 {:.0} ms, p99 {:.0} ms; {} p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; slots busy {:.1} %",
            self.tenants,
            self.prefix,
            self.ok,
            self.tenants,
            self.makespan.as_secs_f64(),
            self.per_minute(),
            pct(&self.latency, 0.5),
            pct(&self.latency, 0.99),
            pct(&self.helm, 0.5),
            pct(&self.helm, 0.99),
            if self.kind == Some(Kind::Eda) { "eda's own" } else { "wrapper + spawn" },
            pct(&self.own, 0.5),
            pct(&self.own, 0.99),
            pct(&self.own, 1.0),
            self.busy * 100.0,
        );
        if !self.seq_own.is_empty() {
            println!(
                "        sequential {} orders: order → provisioned p50 {:.0} ms; minus helm: p50 {:.1} ms, max {:.1} ms",
                self.seq_own.len(),
                pct(&self.seq_latency, 0.5),
                pct(&self.seq_own, 0.5),
                pct(&self.seq_own, 1.0)
            );
        }
        if !self.parts.is_empty() {
            println!("        eda's own time by part (burst p50 / p99 | sequential p50 / max):");
        }
        for ((name, v), (_, q)) in
            self.parts.iter().zip(self.seq_parts.iter().chain(std::iter::repeat(&("", Vec::new()))))
        {
            println!(
                "          {name:<26} {:>6.1} / {:>6.1} ms | {:>6.1} / {:>6.1} ms",
                pct(v, 0.5),
                pct(v, 0.99),
                pct(q, 0.5),
                pct(q, 1.0)
            );
        }
        let cpu: Vec<String> = self.cpu.iter().map(|(n, s)| format!("{n} {s:.1}")).collect();
        println!(
            "        CPU s: {}; machine busy {:.0} % of 2 cores; load {} → {}{}",
            cpu.join(", "),
            self.machine_busy * 100.0,
            self.load.0,
            self.load.1,
            if self.peak_rss_kb > 0 { format!("; peak RSS {} kB", self.peak_rss_kb) } else { String::new() }
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn summary(results: &[RunResult], sizes: &[usize]) {
    println!("\nmedians of the runs (ratio: of the medians, and the median of each round's eda/bare):");
    println!(
        "| tenants | bare /min | eda /min | eda/bare | rounds' ratios | order → done p50 / p99 (bare; eda) \
         | helm p50 (bare / eda) | eda own p50 / p99 | sequential own p50 / max (pooled) |"
    );
    for &n in sizes {
        let of = |k: Kind| results.iter().filter(move |r| r.tenants == n && r.kind == Some(k));
        let m = |k: Kind, f: &dyn Fn(&RunResult) -> f64| median(of(k).map(f).collect());
        let bare = m(Kind::Bare, &|r| r.per_minute());
        let eda = m(Kind::Eda, &|r| r.per_minute());
        let ratios: Vec<f64> =
            of(Kind::Eda).zip(of(Kind::Bare)).map(|(e, b)| e.per_minute() / b.per_minute()).collect();
        let shown: Vec<String> = ratios.iter().map(|r| format!("{:.1}", r * 100.0)).collect();
        let pooled: Vec<Us> = of(Kind::Eda).flat_map(|r| r.seq_own.iter().copied()).collect();
        println!(
            "| {n} | {bare:.1} | {eda:.1} | {:.1} % | {} % (median {:.1} %) | {:.0} / {:.0} ms; {:.0} / {:.0} ms \
             | {:.0} / {:.0} ms | {:.1} / {:.1} ms | {:.1} / {:.1} ms (n = {}) |",
            eda / bare * 100.0,
            shown.join(", "),
            median(ratios) * 100.0,
            m(Kind::Bare, &|r| pct(&r.latency, 0.5)),
            m(Kind::Bare, &|r| pct(&r.latency, 0.99)),
            m(Kind::Eda, &|r| pct(&r.latency, 0.5)),
            m(Kind::Eda, &|r| pct(&r.latency, 0.99)),
            m(Kind::Bare, &|r| pct(&r.helm, 0.5)),
            m(Kind::Eda, &|r| pct(&r.helm, 0.5)),
            m(Kind::Eda, &|r| pct(&r.own, 0.5)),
            m(Kind::Eda, &|r| pct(&r.own, 0.99)),
            pct(&pooled, 0.5),
            pct(&pooled, 1.0),
            pooled.len(),
        );
    }
}
