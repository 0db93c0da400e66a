//! The tenants page and API over a large ledger (docs/benchmarks.md): 10,000 and 100,000
//! tenants seeded into a fresh database migrated by the dbwriter's migrations, read by the
//! producer through a login role in `eda_ledger_reader`; `GET /api/v1/tenants` and `GET
//! /tenants` (a page of 50: the first, one deep behind a cursor, one status, one client
//! prefix) at 16 concurrent HTTP/1.1 keep-alive connections, p50/p99; then the plans
//! PostgreSQL chose (EXPLAIN ANALYZE), which must read through an index and never scan.
//!
//! `cargo run --release -p producer --example bench_tenants -- [seconds] > /dev/null`
//! (figures on stderr; the producer's JSON logs go to stdout).

use std::time::{Duration, Instant};

use eda_tests::db::{server_url, TestDb};
use producer::ledger::tenants::page_sql;
use producer::ledger::TenantQuery;
use producer::{Application, Config};
use sqlx::{PgPool, Row};
use tokio_util::sync::CancellationToken;

#[path = "../bench_orders/raw_http.rs"]
mod raw_http;

use raw_http::{load, Figures};

const CONNECTIONS: usize = 16;
const WARMUP: Duration = Duration::from_secs(1);
const SIZES: [u32; 2] = [10_000, 100_000];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(5);
    let _telemetry = eda_common::telemetry::init(eda_common::telemetry::LogFormat::Json, "producer")?;
    for tenants in SIZES {
        let db = TestDb::create().await;
        let pool = db.pool().await;
        dbwriter::db::MIGRATOR.run(&pool).await?;
        let seeding = Instant::now();
        seed(&pool, tenants).await?;
        eprintln!("\n{tenants} tenants seeded in {:.1}s", seeding.elapsed().as_secs_f64());
        let reader = format!("eda_bench_reader_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        sqlx::query(&format!("CREATE ROLE {reader} LOGIN IN ROLE eda_ledger_reader")).execute(&pool).await?;
        let mut url = url::Url::parse(&format!("{}/{}", server_url(), db.name))?;
        url.set_username(&reader).map_err(|()| anyhow::anyhow!("no user in the server URL"))?;
        let deep = middle_cursor(&pool, tenants).await?;
        let figures = measure(&url, seconds, &deep).await;
        explain(&pool, &deep).await?;
        sqlx::query(&format!("DROP ROLE {reader}")).execute(&pool).await.ok();
        pool.close().await;
        figures?;
    }
    Ok(())
}

/// `tenants` clients with one product each, a purchase event apiece (the hardware the view
/// finds) and a mix of statuses; then ANALYZE, as autovacuum would soon do.
async fn seed(pool: &PgPool, tenants: u32) -> anyhow::Result<()> {
    sqlx::raw_sql(&format!(
        "INSERT INTO events (message_id, trace_id, event_type, company, app, client, action, publisher, \
           published_on, received_at, body, namespace, product, environment, release, routing_key)
         SELECT 'm' || i, gen_random_uuid(), 'mycompany.producer.event.' || c || '.published', 'mycompany',
           'producer', c, 'published', 'producer', t, t,
           jsonb_build_object('client', c, 'namespace', c, 'product', 'product-a', 'environment', 'development',
             'archtype', 'saas', 'hardware', CASE WHEN i % 2 = 0 THEN 'dedicated' ELSE 'classic' END),
           c, 'product-a', 'development', 'product-a', 'mycompany.producer.event.' || c || '.published'
         FROM (SELECT i, 'client' || lpad(i::text, 6, '0') AS c, now() - i * interval '1 second' AS t
               FROM generate_series(1, {tenants}) AS i) AS s;
         INSERT INTO deployments (namespace, release, client, product, environment, status, trace_id, updated_at,
           cycle_started_at, event_type, message_id)
         SELECT namespace, release, client, product, environment,
           (ARRAY['provisioned', 'provisioned', 'provisioned', 'provisioning', 'failed', 'deprovisioned'])
             [1 + abs(hashtext(message_id)) % 6],
           trace_id, published_on, published_on, event_type, message_id
         FROM events;
         ANALYZE events; ANALYZE deployments;"
    ))
    .execute(pool)
    .await?;
    Ok(())
}

/// The cursor of the tenant half-way down the list: a page deep in it.
async fn middle_cursor(pool: &PgPool, tenants: u32) -> anyhow::Result<String> {
    let row = sqlx::query("SELECT client, namespace, release FROM v_tenants ORDER BY client, namespace, release OFFSET $1 LIMIT 1")
        .bind(i64::from(tenants / 2))
        .fetch_one(pool)
        .await?;
    Ok(format!("{}/{}/{}", row.get::<String, _>(0), row.get::<String, _>(1), row.get::<String, _>(2)))
}

async fn measure(url: &url::Url, seconds: u64, deep: &str) -> anyhow::Result<()> {
    let prefix = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut config = Config::for_prefix(&prefix);
    config.common.amqp_url = Some(
        std::env::var("AMQP_URL").unwrap_or_else(|_| eda_common::config::DEFAULT_AMQP_URL.into()).into(),
    );
    config.common.http_addr = Some("127.0.0.1:0".parse()?);
    config.common.queue_type = eda_common::topology::QueueType::Classic;
    config.insecure_no_auth = true;
    config.database_url = Some(url.to_string().into());
    config.database_pool_size = CONNECTIONS as u32;
    let app = Application::build(config).await?;
    let port = app.port();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let window = Duration::from_secs(seconds);
    let deep = format!("cursor={}", deep.replace('/', "%2F"));
    for path in [
        "/api/v1/tenants".to_owned(),
        format!("/api/v1/tenants?{deep}"),
        "/api/v1/tenants?status=failed".to_owned(),
        "/api/v1/tenants?client=client05".to_owned(),
        "/tenants".to_owned(),
        format!("/tenants?status=failed&{deep}"),
    ] {
        let f = get(port, &path, window).await;
        eprintln!(
            "GET {path:<58} {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  {} non-200",
            f.rate, f.p50_ms, f.p99_ms, f.max_ms, f.failures
        );
    }
    shutdown.cancel();
    run.await??;
    Ok(())
}

/// `GET path` on [`CONNECTIONS`] connections for `window` after a warm-up.
async fn get(port: u16, path: &str, window: Duration) -> Figures {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    load(port, vec![request; CONNECTIONS], 200, WARMUP, window).await
}

/// The plans of the first page and of a status page behind a cursor, as the producer sends them.
async fn explain(pool: &PgPool, deep: &str) -> anyhow::Result<()> {
    let first = TenantQuery::default();
    let behind = TenantQuery::from_query(Some(&format!("status=failed&cursor={deep}")))
        .map_err(|e| anyhow::anyhow!("{}", e.error))?;
    for (what, query) in [("first page", first), ("status=failed behind a cursor", behind)] {
        let sql = format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) {}", page_sql(&query).sql());
        let mut explain = sqlx::query(&sql);
        if let Some(status) = query.status {
            explain = explain.bind(status);
        }
        if let Some(after) = &query.after {
            explain =
                explain.bind(after.client.clone()).bind(after.namespace.clone()).bind(after.release.clone());
        }
        let lines = explain.bind(i64::from(query.limit) + 1).fetch_all(pool).await?;
        eprintln!("EXPLAIN {what}:");
        for line in lines {
            eprintln!("    {}", line.get::<String, _>(0));
        }
    }
    Ok(())
}
