//! The tenant database (DESIGN.md §9), on the real control plane and a PostgreSQL server of the
//! test's own that asks tenants for their SCRAM password (the machine's shared one trusts every
//! local connection, which would make these tests pass vacuously).

use std::time::Duration;

use base64::Engine as _;
use eda_tests::captured::Captured;
use eda_tests::own_postgres::OwnPostgres;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, Row};

use crate::helpers::*;

fn with_database(pg: &OwnPostgres, helm: Helm) -> Setup {
    let url = pg.admin_url();
    let tune = Box::new(move |c: &mut provisioner::Config| {
        c.tenant_database.url = Some(url.into());
    });
    Setup { helm, tune, ..Setup::default() }
}

fn database_order(client: &str, action: &str) -> eda_common::Envelope {
    order_with(client, action, json!({"product": "product-db"}))
}

/// The Secret's keys, decoded.
async fn secret(h: &Harness, namespace: &str) -> Option<Value> {
    let secret = h.cluster().get("secrets", Some(namespace), "product-db-database").await?;
    let decode = |v: &Value| {
        let bytes = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        Value::String(String::from_utf8(bytes).unwrap())
    };
    let data: serde_json::Map<String, Value> =
        secret["data"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), decode(v))).collect();
    Some(json!({"data": data, "resourceVersion": secret["metadata"]["resourceVersion"]}))
}

async fn connect(url: &str) -> Result<PgConnection, sqlx::Error> {
    PgConnection::connect(url).await
}

async fn admin(pg: &OwnPostgres) -> PgConnection {
    connect(&pg.admin_url()).await.expect("the admin connects")
}

async fn role_exists(pg: &OwnPostgres, role: &str) -> bool {
    sqlx::query("SELECT 1 FROM pg_roles WHERE rolname = $1")
        .bind(role)
        .fetch_optional(&mut admin(pg).await)
        .await
        .unwrap()
        .is_some()
}

async fn database_exists(pg: &OwnPostgres, db: &str) -> bool {
    sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(db)
        .fetch_optional(&mut admin(pg).await)
        .await
        .unwrap()
        .is_some()
}

/// Every log line of this test process, as the services write them (JSON); nextest runs each
/// test in a process of its own, so this test's subscriber is the global one.
fn capture_logs() -> Captured {
    let logs = Captured::default();
    let subscriber = eda_common::telemetry::json_subscriber(logs.clone());
    tracing::subscriber::set_global_default(subscriber)
        .expect("this test's process logs through its own subscriber");
    logs
}

#[tokio::test]
async fn a_database_product_gets_a_role_a_database_and_a_secret_its_release_uses() {
    let logs = capture_logs();
    let pg = OwnPostgres::start();
    let h = Harness::start(with_database(&pg, Helm::Real)).await;
    let client = h.client("d01");
    h.publish(&database_order(&client, "published")).await;
    let events = h.next_events(2).await;
    assert_eq!(events[1].0, "provisioned");
    let dbname = format!("{client}_product-db");
    assert_eq!(
        (&events[1].1["database"], &events[1].1["database_secret"]),
        (&json!(dbname), &json!("product-db-database"))
    );

    // The Secret holds what a client needs, and it works: a table made and read as the tenant.
    let s = secret(&h, &client).await.expect("the Secret exists");
    let d = &s["data"];
    assert_eq!(
        (&d["host"], &d["port"], &d["dbname"], &d["username"]),
        (&json!("127.0.0.1"), &json!(pg.port.to_string()), &json!(dbname), &json!(dbname))
    );
    let password = d["password"].as_str().unwrap().to_string();
    assert!(password.len() >= 32 && password.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(d["url"], pg.url_as(&dbname, &password, &dbname).replace("postgres://", "postgresql://"));
    let mut tenant =
        connect(d["url"].as_str().unwrap()).await.expect("the tenant connects with the Secret's URL");
    sqlx::raw_sql("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('hello')")
        .execute(&mut tenant)
        .await
        .unwrap();
    let row = sqlx::query("SELECT body FROM notes").fetch_one(&mut tenant).await.unwrap();
    assert_eq!(row.get::<String, _>("body"), "hello");
    assert!(
        connect(&pg.url_as(&dbname, "not-the-password", &dbname)).await.is_err(),
        "a wrong password is refused"
    );

    // The catalog's connection limit, and no rights for PUBLIC on the database.
    let mut a = admin(&pg).await;
    let limit: i32 = sqlx::query_scalar("SELECT rolconnlimit FROM pg_roles WHERE rolname = $1")
        .bind(&dbname)
        .fetch_one(&mut a)
        .await
        .unwrap();
    assert_eq!(limit, 10);
    let acl: String = sqlx::query_scalar("SELECT datacl::text FROM pg_database WHERE datname = $1")
        .bind(&dbname)
        .fetch_one(&mut a)
        .await
        .unwrap();
    assert!(!acl.contains("=Tc/") && !acl.contains("=c/"), "PUBLIC has no CONNECT or TEMP: {acl}");

    // The release got the Secret's name only, and the demo chart reads it into libpq's variables.
    let deployment =
        h.cluster().get("deployments", Some(&client), "product-db").await.expect("the release's Deployment");
    let env = &deployment["spec"]["template"]["spec"]["containers"][0]["env"];
    let from_secret: Vec<(&str, &str)> = env
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?, e["valueFrom"]["secretKeyRef"]["name"].as_str()?)))
        .collect();
    assert!(from_secret.contains(&("PGPASSWORD", "product-db-database")), "{env:#}");
    let values =
        h.cluster().helm(&["get", "values", "product-db", "--namespace", &client, "--output", "json"]);
    let values: Value = serde_json::from_slice(&values.stdout).unwrap();
    assert_eq!(values["database"], json!({"existingSecret": "product-db-database"}));

    // The Tenant says so, and the NetworkPolicy lets pods reach the database.
    let t = h.tenant_in(&client, "product-db", "Provisioned").await;
    let ready =
        t["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "DatabaseReady").cloned();
    let ready = ready.expect("a DatabaseReady condition");
    assert_eq!(ready["status"], "True");
    assert!(ready["message"].as_str().unwrap().contains(&dbname));
    let policy = h.cluster().get("networkpolicies", Some(&client), "eda-tenant-baseline").await.unwrap();
    let egress = policy["spec"]["egress"].as_array().unwrap();
    assert!(
        egress.iter().any(|r| r == &json!({"to": [{"ipBlock": {"cidr": "127.0.0.1/32"}}], "ports": [{"protocol": "TCP", "port": pg.port}]})),
        "{egress:#?}"
    );

    // The password is nowhere but in the Secret: not in events, values, the Tenant, nor what
    // reached the server (which logs every statement: it got the SCRAM verifier).
    for (what, text) in [
        ("events", serde_json::to_string(&events).unwrap()),
        ("values", values.to_string()),
        ("Tenant", t.to_string()),
        ("PostgreSQL's statement log", pg.log()),
        ("provisioner's log", logs.text()),
    ] {
        assert!(!text.contains(&password), "the password appears in the {what}");
    }
    assert!(pg.log().contains("PASSWORD 'SCRAM-SHA-256$4096:"), "the role was made with a verifier");
    assert!(logs.text().contains("tenant role created"), "the provisioner's log was captured");
    h.finish().await;
}

#[tokio::test]
async fn tenants_cannot_reach_each_others_databases_and_long_names_stay_distinct() {
    let pg = OwnPostgres::start();
    let h = Harness::start(with_database(&pg, Helm::Fake(vec![]))).await;
    let a = h.client("d02");
    // A namespace of 63 characters: the identifier is cut to 63 bytes with a hash.
    let b = format!("{a}-{}", "x".repeat(62 - a.len()));
    assert_eq!(b.len(), 63);
    for client in [&a, &b] {
        h.publish(&database_order(client, "published")).await;
        assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    }
    let (sa, sb) = (secret(&h, &a).await.unwrap(), secret(&h, &b).await.unwrap());
    let (da, db) = (&sa["data"], &sb["data"]);
    let b_name = db["dbname"].as_str().unwrap();
    assert_eq!(b_name.len(), 63);
    assert_ne!(da["dbname"], db["dbname"]);
    connect(db["url"].as_str().unwrap()).await.expect("B reaches its own database");

    // A's credentials on B's database: refused (PUBLIC has no CONNECT on it).
    let crossed = pg.url_as(da["username"].as_str().unwrap(), da["password"].as_str().unwrap(), b_name);
    let refused = connect(&crossed).await.expect_err("A cannot connect to B's database");
    assert!(refused.to_string().contains("permission denied"), "{refused}");
    // Nor read B's data from its own database.
    let mut as_a = connect(da["url"].as_str().unwrap()).await.unwrap();
    let mut as_b = connect(db["url"].as_str().unwrap()).await.unwrap();
    sqlx::raw_sql("CREATE TABLE secrets (v text)").execute(&mut as_b).await.unwrap();
    let other = sqlx::raw_sql(&format!("SELECT * FROM \"{b_name}\".public.secrets")).execute(&mut as_a).await;
    assert!(other.is_err(), "no cross-database reads");
    h.finish().await;
}

#[tokio::test]
async fn a_newer_order_keeps_the_password_and_cancel_retains_everything() {
    let pg = OwnPostgres::start();
    let h = Harness::start(with_database(&pg, Helm::Fake(vec![]))).await;
    let client = h.client("d03");
    let now = chrono::Utc::now();
    let mut first = database_order(&client, "published");
    first.attributes.published_on = now - chrono::Duration::seconds(10);
    h.publish(&first).await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    let before = secret(&h, &client).await.unwrap();

    // Bought again (another hardware tier): the reconciler runs every step again.
    let mut again = order_with(&client, "published", json!({"product": "product-db", "hardware": "classic"}));
    again.attributes.published_on = now - chrono::Duration::seconds(5);
    h.publish(&again).await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    let after = secret(&h, &client).await.unwrap();
    assert_eq!(before, after, "the Secret is neither rewritten nor its password rotated");
    connect(after["data"]["url"].as_str().unwrap()).await.expect("the same password still works");

    // onCancel: retain (the demo product's): role, database and Secret stay.
    let mut cancel = database_order(&client, "cancelled");
    cancel.attributes.published_on = now;
    h.publish(&cancel).await;
    assert_eq!(h.actions(1).await, ["deprovisioned"]);
    let dbname = after["data"]["dbname"].as_str().unwrap();
    assert!(role_exists(&pg, dbname).await && database_exists(&pg, dbname).await);
    assert_eq!(secret(&h, &client).await.unwrap(), after);
    h.finish().await;
}

#[tokio::test]
async fn cancel_with_drop_removes_the_role_the_database_and_the_secret() {
    let pg = OwnPostgres::start();
    let catalog =
        provisioner::catalog::BUILT_IN.replace("onCancel: retain       #", "onCancel: drop         #");
    assert_ne!(catalog, provisioner::catalog::BUILT_IN);
    let h = Harness::start(Setup { catalog: Some(catalog), ..with_database(&pg, Helm::Fake(vec![])) }).await;
    let client = h.client("d04");
    let now = chrono::Utc::now();
    let mut bought = database_order(&client, "published");
    bought.attributes.published_on = now - chrono::Duration::seconds(1);
    h.publish(&bought).await;
    assert_eq!(h.actions(2).await, ["provisioning", "provisioned"]);
    let dbname = secret(&h, &client).await.unwrap()["data"]["dbname"].as_str().unwrap().to_string();
    // A session of the tenant's still open: dropping ends it.
    let _open = connect(secret(&h, &client).await.unwrap()["data"]["url"].as_str().unwrap()).await.unwrap();
    let mut cancel = database_order(&client, "cancelled");
    cancel.attributes.published_on = now;
    h.publish(&cancel).await;
    assert_eq!(h.actions(1).await, ["deprovisioned"]);
    assert!(!database_exists(&pg, &dbname).await, "the database is dropped");
    assert!(!role_exists(&pg, &dbname).await, "the role is dropped");
    assert!(secret(&h, &client).await.is_none(), "the Secret is deleted");
    h.finish().await;
}

#[tokio::test]
async fn an_order_while_postgresql_is_down_is_retried_and_provisioned_when_it_returns() {
    let pg = OwnPostgres::start();
    let url = pg.admin_url();
    let tune = Box::new(move |c: &mut provisioner::Config| {
        c.tenant_database.url = Some(url.into());
        c.common.max_retries = 1000;
        c.common.retry_delays.0 = vec![Duration::from_millis(200)];
    });
    let h = Harness::start(Setup { helm: Helm::Fake(vec![]), tune, ..Setup::default() }).await;
    let client = h.client("d05");
    pg.stop();
    h.publish(&database_order(&client, "published")).await;
    assert_eq!(h.actions(1).await, ["provisioning"]);
    let name = format!("{client}.product-db");
    let retrying = h
        .cluster()
        .wait_for("tenants", None, &name, |t| {
            t["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter().any(|c| {
                    c["reason"] == "Retrying"
                        && c["message"].as_str().is_some_and(|m| m.contains("tenant database"))
                })
            })
        })
        .await;
    assert_eq!(retrying["status"]["phase"], "Provisioning", "a transient failure: not Failed");
    pg.start_again();
    assert_eq!(h.actions(1).await, ["provisioned"]);
    assert!(role_exists(&pg, &format!("{client}_product-db")).await);
    h.finish().await;
}

#[tokio::test]
async fn a_database_product_without_a_database_configured_fails_saying_what_to_set() {
    let h = Harness::start(Setup { helm: Helm::Fake(vec![]), ..Setup::default() }).await;
    let client = h.client("d06");
    h.publish(&database_order(&client, "published")).await;
    let events = h.next_events(2).await;
    assert_eq!(events[1].0, "failed");
    let reason =
        events[1].1["reason"].as_str().or(events[1].1["error"].as_str()).unwrap_or_default().to_string();
    let body = events[1].1.to_string();
    assert!(
        body.contains(
            "product `product-db` asks for a database, but PROVISIONER_TENANT_DATABASE_URL is not set"
        ),
        "{reason} {body}"
    );
    assert!(h.helm_calls().is_empty(), "no release without its database");
    h.finish().await;
}
