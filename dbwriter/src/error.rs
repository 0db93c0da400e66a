//! The dbwriter's errors, each naming the step that failed.

/// What went wrong, with the database error as its source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    BadUrl(#[source] sqlx::Error),
    #[error("failed to connect to the database {database}: {source}")]
    Connect { database: String, source: sqlx::Error },
    #[error("failed to create the database {database}: {source}")]
    Create { database: String, source: sqlx::Error },
    #[error("failed to apply the migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("failed to write a batch: {0}")]
    Write(#[source] sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when trying again later can succeed (the database is down, restarting or read-only).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::BadUrl(_) => false,
            Error::Connect { source, .. } | Error::Create { source, .. } | Error::Write(source) => {
                crate::classify::is_transient(source)
            }
            Error::Migrate(sqlx::migrate::MigrateError::Execute(source)) => {
                crate::classify::is_transient(source)
            }
            Error::Migrate(_) => false,
        }
    }
}
