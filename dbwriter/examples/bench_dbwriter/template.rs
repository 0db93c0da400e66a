//! A grown `events` table to drain into (`BENCH_TEMPLATE=db`): a real dbwriter's table holds
//! millions of rows, and its indexes no longer fit in PostgreSQL's buffers. Database `db` is made
//! once (`BENCH_TEMPLATE_ROWS` rows, default 3,000,000, about 3.5 GB; a minute or two), then
//! each drain gets a file copy of it.

use std::time::Instant;

use crate::setup::{admin, pg_server, quiesce};

/// Creates the database of `url` as a copy of the template, if `BENCH_TEMPLATE` names one.
pub async fn copy_into(url: &str) {
    let Ok(template) = std::env::var("BENCH_TEMPLATE") else { return };
    ensure(&template).await;
    let name = url.rsplit('/').next().unwrap();
    let started = Instant::now();
    let copy = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\" STRATEGY FILE_COPY");
    sqlx::query(&copy).execute(&mut admin().await).await.unwrap();
    eprintln!("  database copied from {template} in {:.1}s", started.elapsed().as_secs_f64());
    quiesce().await;
}

/// Makes the template, migrated and filled, unless it exists.
async fn ensure(template: &str) {
    let mut admin = admin().await;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
        .bind(template)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    if exists {
        return;
    }
    let rows: i32 = std::env::var("BENCH_TEMPLATE_ROWS").map_or(3_000_000, |r| r.parse().unwrap());
    let started = Instant::now();
    let url = format!("{}/{template}", pg_server());
    let options = dbwriter::db::connect_options(&url.into(), "bench-template").unwrap();
    let pool = dbwriter::db::prepare(&options, 1).await.unwrap();
    let time_ordered = std::env::var("BENCH_IDS").as_deref() != Ok("v4");
    sqlx::query(FILL).bind(rows).bind(time_ordered).execute(&pool).await.unwrap();
    sqlx::query("VACUUM ANALYZE events").execute(&pool).await.unwrap();
    pool.close().await;
    sqlx::query("CHECKPOINT").execute(&mut admin).await.unwrap();
    eprintln!("  made template {template}: {rows} rows in {:.0}s", started.elapsed().as_secs_f64());
}

/// A month of the benchmark's mix over 5,000 other clients (the drain's clients are new to the
/// table): a purchase for three Kubernetes events. Message ids time-ordered (the UUIDv7 layout),
/// as the suite makes them, or random with `BENCH_IDS=v4` (`$2` false), as it made them before.
const FILL: &str = "INSERT INTO events (message_id, trace_id, event_type, company, app, client, action, \
    retrace_intent, publisher, published_on, received_at, body, namespace, product, environment, release, \
    routing_key) \
    SELECT CASE WHEN $2 \
        THEN substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-8' || substr(r, 4, 3) \
            || '-' || substr(r, 7, 12) \
        ELSE gen_random_uuid()::text END, \
    gen_random_uuid(), 'mycompany.' || app || '.' || c || '.' || act, 'mycompany', app, c, act, 0, app, t, t, \
    jsonb_build_object('attributes', jsonb_build_object('event_type', 'mycompany.' || app || '.' || c || '.' \
        || act, 'trace_id', gen_random_uuid(), 'published_on', t, 'retrace_intent', 0), \
        'metadata', jsonb_build_object('publisher', app, 'hostname', 'bench-host-1'), \
        'data', jsonb_build_object('client', c, 'namespace', c, 'environment', 'development', \
            'archtype', 'saas', 'hardware', 'dedicated', 'product', 'product-a', 'note', repeat('x', 120))), \
    c, 'product-a', 'development', CASE WHEN act = 'published' THEN 'product-a' END, \
    'mycompany.' || app || '.' || c || '.' || act \
    FROM (SELECT 'old' || (i % 5000) AS c, \
            CASE i % 4 WHEN 0 THEN 'producer' ELSE 'k8s-event-exporter' END AS app, \
            CASE i % 4 WHEN 0 THEN 'published' WHEN 1 THEN 'scheduled' WHEN 2 THEN 'pulled' \
                ELSE 'started' END AS act, \
            now() - interval '30 days' + i * (interval '30 days' / $1) AS t, \
            md5(random()::text) AS r \
        FROM generate_series(1, $1) AS i) s, \
    LATERAL (SELECT lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') AS h) x";
