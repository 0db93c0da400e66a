//! A ledger of a test's own: a fresh database migrated by the dbwriter's migrations, a login
//! role of the test's own in `eda_ledger_reader` (what operations give the producer), and
//! tenants written as dbwriter writes them (its row insert and deployment upsert).

use chrono::{DateTime, Duration, Utc};
use dbwriter::{deployments, row, EventRow};
use eda_common::delivery::Message;
use eda_common::{Envelope, EventType};
use eda_tests::db::{server_url, TestDb};
use sqlx::{Connection, PgPool};
use uuid::Uuid;

pub struct TestLedger {
    /// The database's owner (the server's superuser): what dbwriter would be.
    pub pool: PgPool,
    /// `postgres://<reader>@…/<database>`: what PRODUCER_DATABASE_URL would be.
    pub reader_url: String,
    pub reader: String,
    pub db: TestDb,
}

impl TestLedger {
    pub async fn create() -> TestLedger {
        let db = TestDb::create().await;
        let pool = db.pool().await;
        dbwriter::db::MIGRATOR.run(&pool).await.expect("the dbwriter's migrations apply");
        let reader = format!("eda_test_reader_{}", Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE ROLE {reader} LOGIN IN ROLE eda_ledger_reader"))
            .execute(&pool)
            .await
            .expect("create the test's reader role");
        let mut url = url::Url::parse(&format!("{}/{}", server_url(), db.name)).unwrap();
        url.set_username(&reader).unwrap();
        TestLedger { pool, reader_url: url.to_string(), reader, db }
    }

    /// Writes one event as a dbwriter batch does: its row, then its deployment.
    pub async fn store(&self, envelope: &Envelope) -> String {
        let message_id = Uuid::new_v4().to_string();
        let message = Message {
            envelope: envelope.clone(),
            message_id: message_id.clone(),
            routing_key: format!("{}", envelope.event_type()),
            redelivered: false,
            received_at: Utc::now(),
            sent_at: None,
            delivery_tag: 0,
            traceparent: None,
        };
        let row = EventRow::from_message(&message);
        let mut conn = self.pool.acquire().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        row::insert(&mut tx, &[&row]).await.expect("the event row is written");
        if let Some(key) = deployments::key_of(&message.envelope) {
            deployments::apply(&mut tx, &[key]).await.expect("the deployment is written");
        }
        tx.commit().await.unwrap();
        message_id
    }

    /// A tenant bought `at` (its purchase, then the provisioner's events up to `status`), as the
    /// ledger holds it; returns the purchase's trace id.
    pub async fn tenant(
        &self,
        client: &str,
        product: &str,
        hardware: &str,
        status: &str,
        at: DateTime<Utc>,
    ) -> Uuid {
        let trace_id = Uuid::new_v4();
        let purchase = event("producer", client, "published", product, hardware, trace_id, at);
        self.store(&purchase).await;
        let steps: &[&str] = match status {
            "published" => &[],
            "provisioning" => &["provisioning"],
            "provisioned" => &["provisioning", "provisioned"],
            "failed" => &["provisioning", "failed"],
            other => panic!("no seed for status {other}"),
        };
        for (n, action) in steps.iter().enumerate() {
            let later = at + Duration::seconds(n as i64 + 1);
            self.store(&event("provisioner", client, action, product, hardware, trace_id, later)).await;
        }
        trace_id
    }
}

/// An event of `app` about `client`'s `product`, as the suite's services publish them.
pub fn event(
    app: &str,
    client: &str,
    action: &str,
    product: &str,
    hardware: &str,
    trace_id: Uuid,
    at: DateTime<Utc>,
) -> Envelope {
    let event_type = EventType::new("mycompany", app, client, action).unwrap();
    let body = serde_json::json!({"client": client, "namespace": client, "environment": "development",
                                  "archtype": "saas", "hardware": hardware, "product": product});
    let mut envelope = Envelope::new(event_type, trace_id, body.as_object().unwrap().clone());
    envelope.attributes.published_on = at;
    envelope
}

impl Drop for TestLedger {
    fn drop(&mut self) {
        // Roles belong to the whole server: the test's own goes with its database. The role is
        // dropped first, on a runtime of its own (drop runs outside any runtime guarantee).
        let reader = self.reader.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut admin =
                    sqlx::PgConnection::connect(&format!("{}/postgres", server_url())).await.ok()?;
                sqlx::query(&format!("DROP ROLE IF EXISTS {reader}")).execute(&mut admin).await.ok()
            })
        })
        .join();
    }
}
