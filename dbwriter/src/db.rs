//! The connection pool: the database created if missing, migrations applied, and the one place
//! that decides whether a database error is an outage (transient) or about the data.

use std::str::FromStr;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::classify::sql_state;
use crate::{Error, Result};

/// Migrations embedded at build time (`dbwriter/migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Connection options for `url`, tagged `eda-dbwriter-<prefix>` so operators (and tests) can
/// tell this instance's sessions apart in `pg_stat_activity`.
pub fn connect_options(url: &secrecy::SecretString, prefix: &str) -> Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url.expose_secret()).map_err(Error::BadUrl)?;
    Ok(options.application_name(&application_name(prefix)))
}

/// `eda-dbwriter-<prefix>`.
pub fn application_name(prefix: &str) -> String {
    format!("eda-dbwriter-{prefix}")
}

/// Connects, creating the database first if it does not exist, then applies the migrations.
/// The pool holds a connection per batch in flight (`writers`) and one more, to serve a batch
/// while a failed connection is being replaced.
pub async fn prepare(options: &PgConnectOptions, writers: u8) -> Result<PgPool> {
    let database = options.get_database().unwrap_or("postgres").to_owned();
    match options.connect().await {
        Ok(conn) => {
            let _ = conn.close().await;
        }
        Err(error) if sql_state(&error).as_deref() == Some("3D000") => {
            create_database(options, &database).await?
        }
        Err(source) => return Err(Error::Connect { database, source }),
    }
    let pool = PgPoolOptions::new()
        .max_connections(u32::from(writers) + 1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.clone())
        .await
        .map_err(|source| Error::Connect { database: database.clone(), source })?;
    MIGRATOR.run(&pool).await.map_err(Error::Migrate)?;
    Ok(pool)
}

/// `CREATE DATABASE`, from the `postgres` database of the same server; a concurrent creator wins.
async fn create_database(options: &PgConnectOptions, database: &str) -> Result<()> {
    let admin = options.clone().database("postgres");
    let create = |source| Error::Create { database: database.to_owned(), source };
    let mut conn = admin.connect().await.map_err(create)?;
    let statement = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
    match sqlx::query(&statement).execute(&mut conn).await {
        Ok(_) => tracing::info!(database, "created the database"),
        // 42P04 duplicate_database, 23505 the race on pg_database's unique index.
        Err(e) if matches!(sql_state(&e).as_deref(), Some("42P04" | "23505")) => {}
        Err(e) => return Err(create(e)),
    }
    let _ = conn.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_application_name_carries_the_prefix() {
        assert_eq!(application_name("eda"), "eda-dbwriter-eda");
    }
}
