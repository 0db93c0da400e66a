//! A fresh PostgreSQL database per test, dropped when the test ends.

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

/// The server tests use: `TEST_DATABASE_URL`'s server, or the local one.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_SERVER").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A database named `eda_test_<hex>`; dropped (with its connections) on drop.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// A name and URL for a database that does not exist yet (services create it themselves).
    pub fn fresh_name() -> TestDb {
        let name = format!("eda_test_{}", uuid::Uuid::new_v4().simple());
        let url = format!("{}/{name}", server_url());
        TestDb { name, url }
    }

    /// Creates the database now.
    pub async fn create() -> TestDb {
        let db = TestDb::fresh_name();
        let mut admin = admin().await;
        sqlx::query(&format!("CREATE DATABASE \"{}\"", db.name))
            .execute(&mut admin)
            .await
            .expect("create test database");
        db
    }

    pub async fn pool(&self) -> PgPool {
        PgPoolOptions::new().max_connections(4).connect(&self.url).await.expect("connect to test database")
    }
}

async fn admin() -> PgConnection {
    PgConnection::connect(&format!("{}/postgres", server_url())).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is not reachable at {} ({e}); run scripts/dev-services.sh", server_url())
    })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee: use a small runtime of our own on a thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut admin = PgConnection::connect(&format!("{}/postgres", server_url())).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
    }
}
