//! Which database errors are an outage (the batch stays in the broker and is tried again) and
//! which blame the rows written (the message is dead-lettered alone), by SQLSTATE.

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
}
