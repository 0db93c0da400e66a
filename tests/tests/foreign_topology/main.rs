//! Issue 24 end to end: another team's publisher declared `<prefix>.events` the tutorial way (a
//! plain durable topic exchange, no alternate exchange) before eda started. The producer, the
//! dbwriter, the provisioner (plan mode) and a consumer tap start on it anyway, handle one
//! purchase, stay ready and each list the difference under `degraded`.

use std::time::Duration;

use eda_common::health::Readiness;
use eda_tests::broker::TestBroker;
use eda_tests::db::TestDb;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "foreign-topology-token";
const WITHIN: Duration = Duration::from_secs(60);

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WITHIN, f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen within {WITHIN:?}"))
}

fn assert_degraded_by_the_foreign_exchange(service: &str, readiness: &Readiness, events: &str) {
    assert!(readiness.is_ready(), "{service} is ready");
    let degraded = readiness.details().degraded;
    assert!(
        degraded.iter().any(|d| d["object"] == events && d["difference"] == "alternate_exchange"),
        "{service} lists the missing alternate exchange: {degraded:?}"
    );
}

#[tokio::test]
async fn every_service_starts_and_handles_a_purchase_on_an_events_exchange_another_client_declared() {
    eda_common::telemetry::init_for_tests();
    let t = TestBroker::new().await;
    let events = t.name("events");
    t.declare_plain_events_exchange().await;
    let tap = t.tap("tap", "#").await;
    let db = TestDb::create().await;
    let stop = CancellationToken::new();
    let mut tasks = Vec::new();

    let mut c = dbwriter::Config::for_prefix(&t.prefix, &db.url);
    c.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    c.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
    t.track_service("dbwriter", c.common.retry_delays.0.len());
    let app = dbwriter::Application::build(c).await.expect("the dbwriter builds");
    let dbwriter_ready = app.readiness().clone();
    tasks.push(tokio::spawn(app.run_until_stopped(stop.clone())));
    within("the dbwriter consuming", dbwriter_ready.wait_for("consumer", true)).await;

    let mut c = provisioner::Config::for_prefix(&t.prefix);
    c.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    c.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
    c.mode = provisioner::config::Mode::Plan;
    t.track_service("provisioner", c.common.retry_delays.0.len());
    let app = provisioner::Application::build(c).await.expect("the provisioner builds");
    let provisioner_health = app.health().clone();
    tasks.push(tokio::spawn(app.run_until_stopped(stop.clone())));
    within("the provisioner consuming", provisioner_health.readiness.wait_for("consumer", true)).await;

    let mut args = eda_common::CommonArgs::for_prefix(&t.prefix);
    args.amqp_url = Some(eda_tests::broker::amqp_url().into());
    t.track_service("audit", args.retry_delays.0.len());
    let rt = eda_common::service::Service::start(&args, "audit", consumer::PUBLISH_TIMEOUT);
    let printed = eda_tests::captured::Captured::default();
    let log = consumer::config::LogArgs { bindings: vec!["#".into()], name: "audit".into() };
    let (tap_rt, out, tap_stop) = (rt.clone(), printed.clone(), stop.clone());
    let consumer_tap = tokio::spawn(async move { consumer::log_tap::run(&tap_rt, log, out, tap_stop).await });
    within("the consumer tap consuming", rt.health.readiness.wait_for("consumer", true)).await;

    let mut c = producer::Config::for_prefix(&t.prefix);
    c.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    c.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
    c.api_tokens = Some(TOKEN.to_owned().into());
    let app = producer::Application::build(c).await.expect("the producer builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let producer_health = app.health().clone();
    tasks.push(tokio::spawn(app.run_until_stopped(stop.clone())));
    within("the producer connected", producer_health.readiness.wait_for("broker", true)).await;

    let answer = reqwest::Client::new()
        .post(format!("{base}/api/v1/orders"))
        .bearer_auth(TOKEN)
        .json(&json!({"client": "foreign", "product": "product-a", "environment": "development",
            "archtype": "saas", "hardware": "classic"}))
        .send()
        .await
        .expect("the producer answers");
    assert_eq!(answer.status(), 202, "the producer publishes through the foreign exchange");
    let trace_id = answer.json::<Value>().await.unwrap()["trace_id"].as_str().unwrap().to_owned();

    // The provisioner handled it: its plan-mode `provisioned` comes through the same exchange.
    let provisioned = within("a provisioned event", async {
        loop {
            let d = t.take(&tap, 1, WITHIN).await.remove(0);
            if d.routing_key.as_str().ends_with(".provisioned") {
                return eda_tests::broker::json(&d);
            }
        }
    })
    .await;
    assert_eq!(provisioned["MessageAttributes"]["trace_id"], trace_id.as_str());
    assert_eq!(provisioned["dry_run"], true);

    // The dbwriter stored the purchase and what followed.
    let pool = db.pool().await;
    within("the ledger rows", async {
        loop {
            let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE trace_id = $1::uuid")
                .bind(&trace_id)
                .fetch_one(&pool)
                .await
                .expect("query events");
            if rows >= 3 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    // The consumer tap printed the purchase.
    within("the tap's line", async {
        while !printed.text().contains(&trace_id) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;

    assert_degraded_by_the_foreign_exchange("dbwriter", &dbwriter_ready, &events);
    assert_degraded_by_the_foreign_exchange("provisioner", &provisioner_health.readiness, &events);
    assert_degraded_by_the_foreign_exchange("consumer", &rt.health.readiness, &events);
    assert_degraded_by_the_foreign_exchange("producer", &producer_health.readiness, &events);

    stop.cancel();
    consumer_tap.await.unwrap().expect("the tap stops cleanly");
    rt.close().await;
    for task in tasks {
        task.await.unwrap().expect("a service stops cleanly");
    }
    t.cleanup().await;
}
