//! Why a message could not be read as an envelope: every variant names what is wrong,
//! and all but the size and syntax ones name the field, so a dead-lettered message says
//! exactly what its publisher has to fix.

/// A message that is not a valid envelope. Always permanent: retrying cannot fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("body is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is not a JSON object")]
    NotObject,
    #[error("{field} is missing")]
    Missing { field: String },
    #[error("{field} is invalid: {reason}")]
    Invalid { field: String, reason: String },
}

impl EnvelopeError {
    /// The dotted path of the offending field (`MessageAttributes.trace_id`, `ce-type`, `client`), if there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Missing { field } | Self::Invalid { field, .. } => Some(field),
            Self::TooLarge { .. } | Self::NotJson(_) | Self::NotObject => None,
        }
    }

    pub(crate) fn missing(field: impl Into<String>) -> Self {
        Self::Missing { field: field.into() }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), reason: reason.into() }
    }

    /// A JSON syntax error, with a hint when the culprit is a comment: the seed's own
    /// example is annotated with `/* ... */`, so that is the mistake publishers will make.
    pub(crate) fn not_json(bytes: &[u8], error: &serde_json::Error) -> Self {
        let at_comment = (error.line() > 0 && error.column() > 0)
            .then(|| {
                let line = bytes.split(|b| *b == b'\n').nth(error.line() - 1)?;
                line.get(error.column() - 1..)
            })
            .flatten()
            .is_some_and(|rest| rest.starts_with(b"/*") || rest.starts_with(b"//"));
        if at_comment {
            Self::NotJson(format!("{error} (JSON has no comments: remove the /* ... */ and // annotations)"))
        } else {
            Self::NotJson(error.to_string())
        }
    }
}

/// Quotes a value for an error reason, cut to a few dozen characters: reasons travel in
/// AMQP headers (`x-eda-error`), where a 1 MiB echo of bad input would not fit.
pub(crate) fn quote(value: &str) -> String {
    const MAX_CHARS: usize = 64;
    match value.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

/// Names a JSON value's type for error reasons ("is a number, expected a string").
pub fn json_type(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_is_the_path_of_missing_and_invalid_fields_only() {
        assert_eq!(EnvelopeError::missing("a.b").field(), Some("a.b"));
        assert_eq!(EnvelopeError::invalid("c", "bad").field(), Some("c"));
        assert_eq!(EnvelopeError::NotObject.field(), None);
        let too_large = EnvelopeError::TooLarge { size: 2, limit: 1 };
        assert_eq!(too_large.field(), None);
        assert_eq!(too_large.to_string(), "body is 2 bytes, over the 1-byte limit");
    }

    #[test]
    fn not_json_points_at_comments() {
        let body = b"{\n  \"a\": 1 /* note */\n}";
        let error = serde_json::from_slice::<serde_json::Value>(body).unwrap_err();
        let message = EnvelopeError::not_json(body, &error).to_string();
        assert!(message.starts_with("body is not JSON: "), "{message}");
        assert!(message.contains("line 2"), "{message}");
        assert!(message.contains("JSON has no comments"), "{message}");
    }

    #[test]
    fn quote_cuts_long_values() {
        assert_eq!(quote("abc"), "\"abc\"");
        let long = quote(&"x".repeat(1000));
        assert!(long.len() < 80 && long.ends_with('…'), "{long}");
    }

    #[test]
    fn not_json_without_a_comment_has_no_hint() {
        let body = b"{\"a\": }";
        let error = serde_json::from_slice::<serde_json::Value>(body).unwrap_err();
        let message = EnvelopeError::not_json(body, &error).to_string();
        assert!(!message.contains("comments"), "{message}");
    }
}
