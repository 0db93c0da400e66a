//! The tenants routes and the ledger behind them: answers without a ledger, filters and stable
//! paging, refusals naming their parameter, a read-only role that cannot write, and timelines
//! that survive a producer restart.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use eda_tests::broker::TestBroker;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::*;
use crate::ledger::{event, TestLedger};
use crate::sse::SseReader;

/// A producer reading `ledger` through its read-only role.
async fn producer_on(ledger: &TestLedger) -> TestApp {
    let t = TestBroker::new().await;
    let mut config = config(&t);
    config.database_url = Some(ledger.reader_url.clone().into());
    TestApp::spawn_with(t, config, true).await
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(TOKEN).send().await.unwrap()
}

#[tokio::test]
async fn without_a_ledger_the_tenants_routes_answer_503_saying_what_to_set() {
    let app = TestApp::spawn().await;
    for path in ["/api/v1/tenants", "/tenants"] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), 503, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("set PRODUCER_DATABASE_URL"), "{path}: {body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_api_lists_the_ledgers_tenants_filtered_and_in_pages_that_stay_stable_while_they_change() {
    let ledger = TestLedger::create().await;
    let at = Utc::now() - chrono::Duration::hours(1);
    let seeded = [
        ("acme", "product-a", "provisioned"),
        ("acme", "product-b", "failed"),
        ("acorn", "product-a", "provisioning"),
        ("beta", "product-a", "provisioned"),
        ("zulu", "product-c", "published"),
    ];
    let mut traces = Vec::new();
    for (client, product, status) in seeded {
        traces.push(ledger.tenant(client, product, "dedicated", status, at).await);
    }
    let app = producer_on(&ledger).await;

    let response = app.client.get(app.url("/api/v1/tenants")).send().await.unwrap();
    assert_eq!(response.status(), 401, "behind the API's authentication");
    let all: Value = get(&app, "/api/v1/tenants").await.json().await.unwrap();
    let tenants = all["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 5);
    assert_eq!(all["next_cursor"], Value::Null, "one page holds them all");
    let first = &tenants[0];
    assert_eq!((first["client"].as_str(), first["release"].as_str()), (Some("acme"), Some("product-a")));
    assert_eq!(first["namespace"], "acme");
    assert_eq!(first["product"], "product-a");
    assert_eq!(first["environment"], "development");
    assert_eq!(first["hardware"], "dedicated", "from the cycle's purchase");
    assert_eq!(first["status"], "provisioned");
    assert_eq!(first["trace_id"], traces[0].to_string());

    let clients = |page: &Value| -> Vec<String> {
        page["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| format!("{}/{}", t["client"], t["release"]))
            .collect()
    };
    let page: Value = get(&app, "/api/v1/tenants?status=provisioned").await.json().await.unwrap();
    assert_eq!(clients(&page), [r#""acme"/"product-a""#, r#""beta"/"product-a""#]);
    let page: Value = get(&app, "/api/v1/tenants?client=ac").await.json().await.unwrap();
    assert_eq!(page["tenants"].as_array().unwrap().len(), 3, "acme twice and acorn: {page}");
    let page: Value = get(&app, "/api/v1/tenants?client=ac&status=failed").await.json().await.unwrap();
    assert_eq!(clients(&page), [r#""acme"/"product-b""#]);

    // Pages of two; between the pages every tenant changes status: each is still listed once.
    let mut seen = Vec::new();
    let mut path = "/api/v1/tenants?limit=2".to_owned();
    loop {
        let page: Value = get(&app, &path).await.json().await.unwrap();
        seen.extend(clients(&page));
        for (client, product, _) in seeded {
            let cancelled =
                event("producer", client, "cancelled", product, "dedicated", Uuid::new_v4(), Utc::now());
            ledger.store(&cancelled).await;
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/tenants?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 5, "no tenant twice: {seen:?}");
    let now: Value = get(&app, "/api/v1/tenants?status=cancelled").await.json().await.unwrap();
    assert_eq!(now["tenants"].as_array().unwrap().len(), 5, "the changes are in the ledger");
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_status_or_a_malformed_cursor_is_refused_naming_the_parameter() {
    let ledger = TestLedger::create().await;
    let app = producer_on(&ledger).await;
    let cases = [
        ("status=sleeping", "status"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=a%2Fb%2FC", "cursor"),
        ("client=Upper", "client"),
        ("limit=1000", "limit"),
    ];
    for path in ["/api/v1/tenants", "/tenants"] {
        for (query, field) in cases {
            let response = get(&app, &format!("{path}?{query}")).await;
            assert_eq!(response.status(), 400, "{path}?{query}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["field"], field, "{path}?{query}: {body}");
            assert!(body["error"].as_str().unwrap().contains(field), "{path}?{query}: {body}");
        }
    }
    // The page's form sends its empty fields ("any status"): the page reads them as absent.
    assert_eq!(get(&app, "/tenants?client=&status=").await.status(), 200);
    app.stop().await;
}

/// The SQLSTATE of a statement run as `url`'s role.
async fn sql_state_as(url: &str, statement: &str) -> Option<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.expect("the reader logs in");
    let result = sqlx::raw_sql(statement).execute(&mut conn).await;
    result
        .err()
        .map(|e| e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned()).unwrap_or_default())
}

#[tokio::test]
async fn the_read_only_role_reads_the_tenants_and_cannot_write_the_ledger() {
    let ledger = TestLedger::create().await;
    ledger.tenant("reader", "product-a", "classic", "provisioned", Utc::now()).await;
    let url = &ledger.reader_url;
    assert_eq!(sql_state_as(url, "SELECT * FROM v_tenants").await, None, "it reads the tenants");
    assert_eq!(sql_state_as(url, "SELECT * FROM v_trace_timeline").await, None, "and the timelines");
    let writes = [
        "INSERT INTO events (message_id, trace_id, event_type, company, app, client, action, published_on, \
         received_at, body, routing_key) VALUES ('m', gen_random_uuid(), 'a.b.event.c.d', 'a', 'b', 'c', 'd', \
         now(), now(), '{}', 'r')",
        "INSERT INTO deployments (namespace, release, client, status, trace_id, updated_at, event_type, message_id) \
         VALUES ('n', 'r', 'c', 'provisioned', gen_random_uuid(), now(), 'e', 'm')",
        "UPDATE deployments SET status = 'failed'",
        "DELETE FROM events",
        "CREATE TABLE intruder (x int)",
    ];
    for statement in writes {
        assert_eq!(
            sql_state_as(url, statement).await.as_deref(),
            Some("42501"),
            "permission denied: {statement}"
        );
    }
    // The view it reads is no way in either (not updatable, and not granted for writing).
    let through_the_view = "INSERT INTO v_trace_timeline (trace_id, published_on, received_at, app, action, \
         event_type, client, namespace, retrace_intent, message_id, body) VALUES (gen_random_uuid(), now(), now(), \
         'b', 'd', 'a.b.event.c.d', 'c', 'n', 0, 'm', '{}')";
    assert!(sql_state_as(url, through_the_view).await.is_some(), "refused: {through_the_view}");
    let into_tenants = "INSERT INTO v_tenants (client, namespace, release, status, trace_id, updated_at) \
         VALUES ('c', 'n', 'r', 'provisioned', gen_random_uuid(), now())";
    assert!(sql_state_as(url, into_tenants).await.is_some(), "refused: {into_tenants}");
    // Tables themselves are not granted: only the two views.
    assert_eq!(sql_state_as(url, "SELECT * FROM events").await.as_deref(), Some("42501"));
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deployments").fetch_one(&ledger.pool).await.unwrap();
    assert_eq!(rows, 1, "nothing was written");
}

/// A dbwriter of the test's own, consuming `t`'s prefix into `ledger`.
async fn dbwriter_on(
    t: &TestBroker,
    ledger: &TestLedger,
) -> (tokio_util::sync::CancellationToken, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let mut config = dbwriter::Config::for_prefix(&t.prefix, &ledger.db.url);
    config.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    config.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
    t.track_service("dbwriter", 2);
    let app = dbwriter::Application::build(config).await.expect("dbwriter builds");
    let readiness = app.readiness().clone();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let run = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    tokio::time::timeout(WAIT, readiness.wait_for("consumer", true)).await.expect("the dbwriter consumes");
    (shutdown, run)
}

#[tokio::test]
async fn after_a_restart_the_timeline_of_an_earlier_trace_answers_from_the_ledger_with_the_same_events() {
    let ledger = TestLedger::create().await;
    let t = TestBroker::new().await;
    let (dbwriter_stop, dbwriter) = dbwriter_on(&t, &ledger).await;
    let mut config = config(&t);
    config.database_url = Some(ledger.reader_url.clone().into());
    let app = TestApp::spawn_with(t, config.clone(), true).await;

    let accepted: Value = app.order(&order_json("restart01")).await.json().await.unwrap();
    let trace_id = Uuid::parse_str(accepted["trace_id"].as_str().unwrap()).unwrap();
    let url = app.url(&format!("/api/v1/traces/{trace_id}/events"));
    let mut stream = SseReader::new(app.client.get(url).bearer_auth(TOKEN).send().await.unwrap());
    app.publish_as("provisioner", &provisioner_event("restart01", "provisioning", trace_id)).await;
    app.publish_as("provisioner", &provisioner_event("restart01", "provisioned", trace_id)).await;
    for _ in 0..3 {
        stream.next(WAIT).await;
    }
    drop(stream);
    let path = format!("/api/v1/traces/{trace_id}");
    let before: Value = get(&app, &path).await.json().await.unwrap();
    let actions: Vec<&str> =
        before["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["published", "provisioning", "provisioned"]);

    // Rows becoming visible in PostgreSQL have no event to await: poll the ledger.
    let stored = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events WHERE trace_id = $1")
            .bind(trace_id)
            .fetch_one(&ledger.pool)
            .await
            .unwrap()
    };
    tokio::time::timeout(WAIT, async {
        while stored().await < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the dbwriter stores the three events");

    // A new producer (a restart, or another replica): its cache has never seen this trace.
    let t = app.stop_keeping_the_broker().await;
    let app = TestApp::spawn_with(t, config, true).await;
    let after: Value = get(&app, &path).await.json().await.unwrap();
    assert_eq!(after, before, "the same events, from the ledger");
    let page =
        app.client.get(app.url(&format!("/orders/{trace_id}"))).bearer_auth(TOKEN).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert_eq!(page.matches("<li data-id=").count(), 3, "the status page shows them too: {page}");
    assert!(page.contains(r#"data-state="provisioned" aria-live"#), "{page}");

    dbwriter_stop.cancel();
    dbwriter.await.unwrap().expect("the dbwriter stops cleanly");
    app.stop().await;
}
