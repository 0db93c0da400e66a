//! Every SQL query of the dashboards, with Grafana's macros substituted, runs against a
//! database migrated with the dbwriter's own migrations.

use std::path::Path;

use eda_tests::db::TestDb;
use regex::{Captures, Regex};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::grafana::{dashboards, targets};

/// What Grafana's PostgreSQL data source does to a query before sending it, for the macros
/// and variables the dashboards use. Anything else left with a `$` is reported.
fn substitute(sql: &str, trace_id: Uuid) -> Result<String, String> {
    let time_filter = Regex::new(r"\$__timeFilter\(([^)]*)\)").unwrap();
    let group_alias = Regex::new(r"\$__timeGroupAlias\(([^,]+),\s*([0-9]+)([smhd])\)").unwrap();
    let out = time_filter.replace_all(sql, |c: &Captures| {
        format!("{} BETWEEN now() - interval '6 hours' AND now()", c[1].trim())
    });
    let out = group_alias.replace_all(&out, |c: &Captures| {
        let unit = match &c[3] {
            "s" => "second",
            "m" => "minute",
            "h" => "hour",
            _ => "day",
        };
        match &c[2] {
            "1" => format!("date_trunc('{unit}', {}) AS time", c[1].trim()),
            n => format!("date_bin(interval '{n} {unit}s', {}, timestamptz 'epoch') AS time", c[1].trim()),
        }
    });
    let out = out
        .replace("$__timeFrom()", "'2026-01-01T00:00:00Z'::timestamptz")
        .replace("$__timeTo()", "now()")
        .replace("${trace_id}", &trace_id.to_string())
        .replace("$trace_id", &trace_id.to_string());
    match out.find('$') {
        Some(at) => Err(format!("unsubstituted macro or variable at `{}`", &out[at..out.len().min(at + 30)])),
        None => Ok(out),
    }
}

async fn migrated_database() -> (TestDb, PgPool) {
    let db = TestDb::create().await;
    let pool = db.pool().await;
    let migrations = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../dbwriter/migrations"));
    sqlx::migrate::Migrator::new(migrations)
        .await
        .expect("dbwriter migrations load")
        .run(&pool)
        .await
        .expect("migrate");
    (db, pool)
}

/// One purchase that went published → provisioning → provisioned, plus a Kubernetes event.
async fn seed_one_purchase(pool: &PgPool, trace_id: Uuid) {
    for (n, (app, action)) in [
        ("producer", "published"),
        ("provisioner", "provisioning"),
        ("k8s-event-exporter", "scheduled"),
        ("provisioner", "provisioned"),
    ]
    .into_iter()
    .enumerate()
    {
        let event_type = format!("mycompany.{app}.event.cliente02.{action}");
        sqlx::query(
            "INSERT INTO events (message_id, trace_id, event_type, company, app, client, action, retrace_intent,
                                 publisher, published_on, received_at, body, namespace, product, routing_key)
             VALUES ($1, $2, $3, 'mycompany', $4, 'cliente02', $5, 0, $4,
                     now() - make_interval(secs => $6), now() - make_interval(secs => $6),
                     '{\"client\": \"cliente02\"}'::jsonb, 'cliente02', 'product-a', $3)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(trace_id)
        .bind(&event_type)
        .bind(app)
        .bind(action)
        .bind(30.0 - 10.0 * n as f64)
        .execute(pool)
        .await
        .expect("seed an event row");
    }
    sqlx::query(
        "INSERT INTO deployments (namespace, release, client, product, environment, status, trace_id, updated_at,
                                  event_type, message_id)
         VALUES ('cliente02', 'product-a', 'cliente02', 'product-a', 'development', 'provisioned', $1, now(),
                 'mycompany.provisioner.event.cliente02.provisioned', 'm-1')
         ON CONFLICT DO NOTHING",
    )
    .bind(trace_id)
    .execute(pool)
    .await
    .expect("seed a deployment row");
}

#[tokio::test]
async fn every_sql_query_of_the_dashboards_runs_against_a_migrated_database() {
    let (_db, pool) = migrated_database().await;
    let trace_id = Uuid::new_v4();
    seed_one_purchase(&pool, trace_id).await;
    let mut ran = 0;
    let mut failures = Vec::new();
    for d in dashboards() {
        for t in targets(&d) {
            let Some(raw) = t.target["rawSql"].as_str() else { continue };
            let result = match substitute(raw, trace_id) {
                Ok(sql) => sqlx::query(&sql).fetch_all(&pool).await.map(|_| ()).map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            ran += 1;
            if let Err(e) = result {
                failures.push(format!("{}: {e}", t.place));
            }
        }
    }
    assert!(ran >= 12, "the Purchases and Trace dashboards have SQL panels (ran {ran})");
    assert!(failures.is_empty(), "dashboard queries that fail:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn the_trace_timeline_panel_lists_the_chosen_trace_in_order_and_nothing_else() {
    let (_db, pool) = migrated_database().await;
    let (chosen, other) = (Uuid::new_v4(), Uuid::new_v4());
    seed_one_purchase(&pool, chosen).await;
    seed_one_purchase(&pool, other).await;
    let trace = dashboards().into_iter().find(|d| d.file == "trace.json").unwrap();
    let timeline =
        targets(&trace).into_iter().find(|t| t.place.ends_with("/ Timeline")).expect("a Timeline panel");
    let sql = substitute(timeline.target["rawSql"].as_str().unwrap(), chosen).unwrap();
    let rows = sqlx::query(&sql).fetch_all(&pool).await.unwrap();
    let actions: Vec<String> = rows.iter().map(|r| r.get("action")).collect();
    assert_eq!(actions, ["published", "provisioning", "scheduled", "provisioned"]);
    let sources: Vec<String> = rows.iter().map(|r| r.get("source")).collect();
    assert_eq!(sources, ["eda", "eda", "kubernetes", "eda"], "Kubernetes events are part of the timeline");
}

#[tokio::test]
async fn the_events_per_minute_panel_counts_each_action_in_the_time_range_only() {
    let (_db, pool) = migrated_database().await;
    seed_one_purchase(&pool, Uuid::new_v4()).await;
    // Received before the panel's range (`$__timeFrom()` is 2026-01-01 here): not counted.
    sqlx::query("UPDATE events SET received_at = '2025-06-01T00:00:00Z' WHERE action = 'scheduled'")
        .execute(&pool)
        .await
        .unwrap();
    let purchases = dashboards().into_iter().find(|d| d.file == "purchases.json").unwrap();
    let panel = targets(&purchases)
        .into_iter()
        .find(|t| t.place.ends_with("/ Events per minute by action"))
        .expect("an events-per-minute panel");
    let sql = substitute(panel.target["rawSql"].as_str().unwrap(), Uuid::nil()).unwrap();
    let mut per_action = std::collections::BTreeMap::new();
    for row in sqlx::query(&sql).fetch_all(&pool).await.unwrap() {
        *per_action.entry(row.get::<String, _>("metric")).or_insert(0) += row.get::<i64, _>("value");
    }
    let expected: std::collections::BTreeMap<String, i64> =
        [("provisioned", 1), ("provisioning", 1), ("published", 1)].map(|(a, n)| (a.to_owned(), n)).into();
    assert_eq!(per_action, expected);
}

#[test]
fn grafana_macros_are_substituted_and_unknown_ones_are_reported() {
    let id = Uuid::nil();
    let sql = substitute(
        "SELECT $__timeGroupAlias(t, 1m) FROM x WHERE $__timeFilter(t) AND id = '${trace_id}'",
        id,
    );
    assert_eq!(
        sql.unwrap(),
        "SELECT date_trunc('minute', t) AS time FROM x WHERE t BETWEEN now() - interval '6 hours' AND now() \
         AND id = '00000000-0000-0000-0000-000000000000'"
    );
    assert!(substitute("SELECT $__unixEpochFilter(t)", id).unwrap_err().contains("$__unixEpochFilter"));
}
