//! `consumer topology check`, the real binary against the real RabbitMQ: with the management
//! API and with AMQP alone, on a clean prefix and on each broken case of issue 24.

use eda_common::topology::policy::{events_policy, service_queues_policy};
use eda_common::topology::{QueueType, ServiceQueue, Topology};
use eda_tests::broker::{clear_policy, management_url, set_policy, TestBroker};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;

use crate::helpers::*;

/// How one run of the check ended, and what it printed.
struct Checked {
    success: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary on `t`'s prefix with the test runtime's retry levels; `management` sets the URL.
async fn check(t: &TestBroker, management: bool, extra: &[&str]) -> Checked {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_consumer"));
    cmd.args(["topology", "check"])
        .args(extra)
        .env("EDA_PREFIX", &t.prefix)
        .env("AMQP_URL", eda_tests::broker::amqp_url())
        .env("EDA_RETRY_DELAYS", "50ms,100ms")
        .env_remove("RUST_LOG")
        .env_remove("EDA_MANAGEMENT_URL");
    if management {
        cmd.env("EDA_MANAGEMENT_URL", management_url());
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run consumer topology check"))
        .await
        .unwrap();
    Checked {
        success: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The table line of `object` with `difference`, if printed.
fn line<'a>(c: &'a Checked, object: &str, difference: &str) -> Option<&'a str> {
    c.stdout.lines().find(|l| l.starts_with(&format!("{object} ")) && l.contains(&format!(" {difference} ")))
}

async fn declare_as_eda(t: &TestBroker, service: &str) {
    let topology = Topology::new(&t.prefix, QueueType::Quorum);
    topology.declare_shared(t.channel()).await.expect("eda's shared topology");
    let queue = ServiceQueue { service: service.into(), bindings: vec!["#".into()] };
    let retry =
        eda_common::retry::RetryPolicy::new(3, eda_common::config::parse_delays("50ms,100ms").unwrap().0);
    topology.declare_service(t.channel(), &queue, &retry).await.expect("eda's service topology");
    t.track_service(service, LEVELS);
}

#[tokio::test]
async fn on_a_clean_prefix_the_check_exits_0_and_flags_only_rabbitmq_4s_delivery_limits() {
    let t = TestBroker::new().await;
    declare_as_eda(&t, "clean").await;
    for management in [true, false] {
        let c = check(&t, management, &["--service", "clean"]).await;
        assert!(c.success, "management {management}: {}{}", c.stdout, c.stderr);
        assert!(c.stdout.contains("every guarantee holds"), "{}", c.stdout);
        assert!(!c.stdout.contains("absent"), "everything exists: {}", c.stdout);
    }
    let c = check(&t, true, &[]).await;
    assert!(c.stdout.contains("checked with management API (RabbitMQ 3."), "{}", c.stdout);
    assert!(!c.stdout.contains("absent"), "eda's own bindings are there: {}", c.stdout);
    // RabbitMQ 3.x has no default delivery limit: advisory, naming the 4.x consequence and the policy.
    let dead = line(&c, &t.name("dead"), "delivery_limit").unwrap_or_else(|| panic!("{}", c.stdout));
    assert!(
        dead.contains("advisory") && dead.contains("on RabbitMQ 4, a parked message is dropped"),
        "{dead}"
    );
    assert!(dead.contains(r#"'{"delivery-limit":-1}'"#), "{dead}");
    assert!(line(&c, &t.name("clean"), "delivery_limit").is_some(), "found by listing queues: {}", c.stdout);

    // The documented service-queue policy (valid on 3.x too) gives them their generous limit.
    let policy = service_queues_policy(&t.prefix, &["clean"]);
    set_policy(
        &policy.name,
        &policy.pattern,
        policy.apply_to,
        policy.priority,
        &policy.definition.to_string(),
    );
    let c = check(&t, true, &[]).await;
    clear_policy(&policy.name);
    assert!(c.success, "{}", c.stdout);
    assert!(
        line(&c, &t.name("clean"), "delivery_limit").is_none(),
        "limit 1000 is what eda asks: {}",
        c.stdout
    );
    let dead = line(&c, &t.name("dead"), "delivery_limit").unwrap_or_else(|| panic!("{}", c.stdout));
    assert!(dead.contains("advisory"), "the parking lot keeps no limit: {dead}");

    // A policy matching every queue of the prefix would limit the parking lot: that breaks it.
    set_policy(&policy.name, &format!("^{}\\.", t.prefix), "queues", 10, r#"{"delivery-limit":1000}"#);
    let c = check(&t, true, &[]).await;
    clear_policy(&policy.name);
    assert_eq!(c.code, Some(1), "{}", c.stdout);
    let dead = line(&c, &t.name("dead"), "delivery_limit").unwrap_or_else(|| panic!("{}", c.stdout));
    assert!(dead.contains("unsafe") && dead.contains("delivery-limit is 1000"), "{dead}");
    assert!(dead.contains(&format!("rabbitmqctl clear_policy {}", policy.name)), "{dead}");

    // A binding eda needs is gone: reported as one eda makes again at start (not a difference).
    let unrouted = t.name("unrouted");
    t.channel()
        .queue_unbind(unrouted.as_str().into(), unrouted.as_str().into(), "".into(), FieldTable::default())
        .await
        .unwrap();
    let c = check(&t, true, &[]).await;
    assert!(c.success, "{}", c.stdout);
    assert!(c.stdout.contains(&format!("binding {unrouted} → {unrouted} (\"\")")), "{}", c.stdout);
    t.cleanup().await;
}

#[tokio::test]
async fn an_events_exchange_without_alternate_exchange_fails_the_check_until_the_documented_policy_is_applied(
) {
    let t = TestBroker::new().await;
    t.declare_plain_events_exchange().await;
    let policy = events_policy(&t.prefix);
    for management in [true, false] {
        let c = check(&t, management, &[]).await;
        assert_eq!(c.code, Some(1), "management {management}: {}{}", c.stdout, c.stderr);
        let row = line(&c, &t.name("events"), "alternate_exchange").unwrap_or_else(|| panic!("{}", c.stdout));
        assert!(row.contains("unroutable events are dropped: no alternate exchange"), "{row}");
        assert!(
            row.contains(&format!(
                "rabbitmqctl set_policy --apply-to exchanges --priority 10 {}",
                policy.name
            )),
            "{row}"
        );
        assert!(c.stderr.contains("break a guarantee of eda"), "{}", c.stderr);
    }
    let c = check(&t, false, &[]).await;
    assert!(c.stdout.contains("not checked: policies"), "AMQP says what it cannot see: {}", c.stdout);
    assert!(c.stdout.contains("absent, eda declares them at start:"), "{}", c.stdout);

    set_policy(
        &policy.name,
        &policy.pattern,
        policy.apply_to,
        policy.priority,
        &policy.definition.to_string(),
    );
    let c = check(&t, true, &[]).await;
    clear_policy(&policy.name);
    assert!(c.success, "the policy gives the alternate exchange: {}{}", c.stdout, c.stderr);
    assert!(line(&c, &t.name("events"), "alternate_exchange").is_none(), "{}", c.stdout);
    t.cleanup().await;
}

#[tokio::test]
async fn a_classic_service_queue_where_quorum_is_configured_fails_the_check_naming_the_queue_and_the_fix() {
    let t = TestBroker::new().await;
    declare_as_eda(&t, "other").await;
    let durable = QueueDeclareOptions { durable: true, ..Default::default() };
    t.channel()
        .queue_declare(t.name("legacy").as_str().into(), durable, FieldTable::default())
        .await
        .unwrap();
    t.track_service("legacy", LEVELS);
    for (management, extra) in [(true, &[][..]), (false, &["--service", "legacy"][..])] {
        let c = check(&t, management, extra).await;
        assert_eq!(c.code, Some(1), "management {management}: {}{}", c.stdout, c.stderr);
        let row = line(&c, &t.name("legacy"), "queue_type").unwrap_or_else(|| panic!("{}", c.stdout));
        assert!(row.contains("degraded") && row.contains("classic queue, not replicated"), "{row}");
        assert!(row.contains(&format!("rabbitmqctl delete_queue {}", t.name("legacy"))), "{row}");
    }
    t.cleanup().await;
}
