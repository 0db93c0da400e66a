//! The connection pool: the database created if missing, migrations applied, and the one place
//! that decides whether a database error is an outage (transient) or about the data.

use std::str::FromStr;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

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

/// The SQLSTATE of a database error, if the server sent one.
pub fn sql_state(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(e) => e.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// True for an outage: the connection, the server or its mode is the problem, not the rows.
/// Unknown errors count as transient, so a surprise never dead-letters a whole batch.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match sql_state(error) {
        Some(code) => !is_data_error(&code),
        None => !matches!(
            error,
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::Encode(_)
        ),
    }
}

/// A SQLSTATE that blames the values written: data exception (22), integrity constraint (23),
/// program limit such as a row too large (54).
pub fn is_data_error(code: &str) -> bool {
    code.starts_with("22") || code.starts_with("23") || code.starts_with("54")
}

/// True when `error` blames the rows written rather than the database.
pub fn blames_the_data(error: &sqlx::Error) -> bool {
    match sql_state(error) {
        Some(code) => is_data_error(&code),
        None => matches!(error, sqlx::Error::Encode(_)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_exceptions_and_constraints_blame_the_data() {
        for code in ["22P05", "22021", "23502", "54000"] {
            assert!(is_data_error(code), "{code}");
        }
    }

    #[test]
    fn outages_and_read_only_do_not_blame_the_data() {
        // 0A000: "cached plan must not change result type", a prepared statement outliving a
        // migration that changed a column it returns.
        for code in ["25006", "57P01", "08006", "53300", "40001", "42P01", "0A000"] {
            assert!(!is_data_error(code), "{code}");
        }
        assert!(is_transient(&sqlx::Error::PoolTimedOut));
        assert!(is_transient(&sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into())));
    }

    #[test]
    fn the_application_name_carries_the_prefix() {
        assert_eq!(application_name("eda"), "eda-dbwriter-eda");
    }
}
