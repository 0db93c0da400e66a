//! `consumer run --exec`: follow-ups, retries on exit 75, dead letters with stderr, timeouts.

use consumer::config::RunArgs;
use eda_common::delivery::DEAD_ERROR;
use eda_tests::broker::{headers, json};

use crate::helpers::*;

fn python_enrich() -> String {
    format!("python3 {}", repo_path("docs/examples/handlers/enrich.py").display())
}

#[tokio::test]
async fn a_python_handler_enriches_an_event_under_the_emitted_type_with_the_same_trace_id() {
    let mut h = Harness::new(2).await;
    let args = RunArgs {
        emit: Some("enriched".into()),
        ..run_args("enrich", "*.*.event.*.published", Some(&python_enrich()), None)
    };
    let run = h.engine(args).await;
    let out = h.t.tap("out", "*.enrich.event.*.*").await;
    let order = h.publish_order("cliente02").await;

    let got = h.t.take(&out, 1, WAIT).await;
    assert_eq!(got[0].routing_key.as_str(), "mycompany.enrich.event.cliente02.enriched");
    let body = json(&got[0]);
    assert_eq!(body["MessageAttributes"]["trace_id"], order.trace_id().to_string());
    assert_eq!(body["MessageAttributes"]["retrace_intent"], "0");
    assert_eq!(body["sizing"]["memory"], "8Gi", "the handler's computed field: {body}");
    assert_eq!(body["source_event_type"], "mycompany.producer.event.cliente02.published");
    assert_eq!(body["Metadata"]["publisher"], "enrich");
    assert_eq!(headers(&got[0])["trace_id"], order.trace_id().to_string());
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("enrich")).await, 0, "the order was acked");
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}

#[tokio::test]
async fn a_handler_that_exits_75_twice_then_0_is_retried_and_succeeds() {
    let mut h = Harness::new(3).await;
    let dir = tempfile::tempdir().unwrap();
    let attempts = dir.path().join("attempts");
    let cmd = script(
        &dir,
        "flaky.sh",
        &format!(
            r#"cat >/dev/null
echo "$EDA_RETRACE_INTENT" >> {log}
n=$(wc -l < {log})
if [ "$n" -le 2 ]; then echo "database busy" >&2; exit 75; fi
echo '{{"attempts": '"$n"'}}'"#,
            log = attempts.display()
        ),
    );
    let run = h.engine(run_args("flaky", "*.*.event.*.published", Some(&cmd), None)).await;
    let out = h.t.tap("out", "*.flaky.event.*.*").await;
    let order = h.publish_order("c1").await;

    let got = h.t.take(&out, 1, WAIT).await;
    assert_eq!(got[0].routing_key.as_str(), "mycompany.flaky.event.c1.processed", "default action");
    let body = json(&got[0]);
    assert_eq!(body["attempts"], 3);
    assert_eq!(body["MessageAttributes"]["trace_id"], order.trace_id().to_string());
    assert_eq!(lines_of(&attempts), ["0", "1", "2"], "EDA_RETRACE_INTENT per attempt");
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0);
    h.finish().await;
}

#[tokio::test]
async fn a_handler_that_always_exits_1_ends_in_dead_with_its_stderr_and_a_failed_event() {
    let mut h = Harness::new(2).await;
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls");
    let cmd = script(
        &dir,
        "broken.sh",
        &format!(
            "cat >/dev/null\necho run >> {}\necho 'step 1 ok' >&2\necho 'no quota left for this client' >&2\nexit 1",
            calls.display()
        ),
    );
    let run = h.engine(run_args("broken", "*.*.event.*.published", Some(&cmd), None)).await;
    let failed = h.t.tap("failed", "*.broken.event.*.failed").await;
    let order = h.publish_order("c2").await;

    let dead = h.t.take(&h.t.name("dead"), 1, WAIT).await;
    let reason = &headers(&dead[0])[DEAD_ERROR];
    assert!(reason.contains("exited with 1"), "{reason}");
    assert!(reason.contains("step 1 ok\nno quota left for this client"), "{reason}");
    assert_eq!(json(&dead[0])["MessageAttributes"]["trace_id"], order.trace_id().to_string());
    let failed = h.t.take(&failed, 1, WAIT).await;
    assert_eq!(failed[0].routing_key.as_str(), "mycompany.broken.event.c2.failed");
    let body = json(&failed[0]);
    assert!(body["error"].as_str().unwrap().contains("no quota left"), "{body}");
    assert_eq!(body["MessageAttributes"]["trace_id"], order.trace_id().to_string());
    assert_eq!(lines_of(&calls).len(), 1, "a permanent failure is never retried");
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}

#[tokio::test]
async fn a_hanging_handler_is_killed_at_the_timeout_and_retried() {
    let mut h = Harness::new(1).await;
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // `exec` so the recorded pid is the sleeping process itself.
    let cmd = script(&dir, "hang.sh", &format!("echo $$ >> {}\nexec sleep 600", pids.display()));
    let args = RunArgs {
        timeout: std::time::Duration::from_millis(800),
        ..run_args("hang", "*.*.event.*.published", Some(&cmd), None)
    };
    let run = h.engine(args).await;
    h.publish_order("c3").await;

    // One retry, then the dead letter: both runs timed out.
    let dead = h.t.take(&h.t.name("dead"), 1, WAIT).await;
    let reason = &headers(&dead[0])[DEAD_ERROR];
    assert!(reason.contains("timed out after 800ms and was killed"), "{reason}");
    assert!(reason.starts_with("gave up after 1 retries"), "{reason}");
    let pids = lines_of(&pids);
    assert_eq!(pids.len(), 2, "first run and one retry: {pids:?}");
    for pid in pids {
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "process {pid} is still there");
    }
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}

#[tokio::test]
async fn a_handler_printing_something_other_than_an_object_is_dead_lettered_with_an_excerpt() {
    let mut h = Harness::new(2).await;
    let run = h.engine(run_args("chatty", "*.*.event.*.published", Some("echo all good"), None)).await;
    h.publish_order("c4").await;
    let dead = h.t.take(&h.t.name("dead"), 1, WAIT).await;
    let reason = &headers(&dead[0])[DEAD_ERROR];
    assert!(reason.contains("stdout is not JSON") && reason.contains("all good"), "{reason}");
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}

#[tokio::test]
async fn ordered_mode_never_runs_two_events_of_one_client_at_once() {
    let mut h = Harness::new(2).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    // Each run logs its start and end; overlapping runs of one client would interleave.
    let cmd = script(
        &dir,
        "slow.sh",
        &format!(
            "body=$(cat)\nn=$(printf '%s' \"$body\" | sed 's/.*\"seq\":\\([0-9]*\\).*/\\1/')\necho \"start $n\" >> {log}\nsleep 0.1\necho \"end $n\" >> {log}\necho \"{{\\\"seq\\\": $n}}\"",
            log = log.display()
        ),
    );
    let args = RunArgs {
        concurrency: 4,
        ordered: true,
        ..run_args("ordered", "*.*.event.*.published", Some(&cmd), None)
    };
    let run = h.engine(args).await;
    let out = h.t.tap("out", "*.ordered.event.*.*").await;
    let rt = h.runtime("test-publisher").await;
    let mut msgs = Vec::new();
    for seq in 0..4 {
        let mut env = order("c5");
        env.body.insert("seq".into(), seq.into());
        msgs.push(rt.publisher.event(&env));
    }
    rt.publisher.send_all(msgs).await.unwrap();
    let got = h.t.take(&out, 4, WAIT).await;
    let mut seqs: Vec<i64> = got.iter().map(|d| json(d)["seq"].as_i64().unwrap()).collect();
    seqs.sort();
    assert_eq!(seqs, [0, 1, 2, 3]);
    let lines = lines_of(&log);
    assert_eq!(lines.len(), 8, "{lines:?}");
    for pair in lines.chunks(2) {
        let n = pair[0].strip_prefix("start ").expect("a run starts after the previous one ended");
        assert_eq!(pair[1], format!("end {n}"), "runs of one client overlapped: {lines:?}");
    }
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    h.finish().await;
}

#[tokio::test]
async fn a_handler_that_ignores_a_large_envelope_on_stdin_still_succeeds() {
    let mut h = Harness::new(2).await;
    // It answers without reading: the engine's write hits a closed pipe, which is not a failure.
    let cmd = r#"sh -c 'echo "{\"ok\":true}"'"#;
    let run = h.engine(run_args("quiet", "*.*.event.*.published", Some(cmd), None)).await;
    let out = h.t.tap("out", "*.quiet.event.*.*").await;
    let rt = h.runtime("test-publisher").await;
    let mut big = order("c6");
    big.body.insert("blob".into(), "x".repeat(512 * 1024).into());
    rt.publisher.publish(&big).await.unwrap();
    let next = order("c6");
    rt.publisher.publish(&next).await.unwrap();
    let got = h.t.take(&out, 2, WAIT).await;
    assert!(got.iter().all(|d| json(d)["ok"] == true));
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("dead")).await, 0, "nothing dead-lettered");
    assert_eq!(h.t.queue_len(&h.t.name("quiet")).await, 0, "both acked");
    h.finish().await;
}
