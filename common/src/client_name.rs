//! Client names: the one piece of customer input that becomes a Kubernetes namespace, a
//! Helm release namespace and an AMQP routing-key segment, so it is held to DNS-1123.

use std::fmt;
use std::str::FromStr;

use crate::envelope::EnvelopeError;

/// The longest DNS-1123 label (RFC 1123, as Kubernetes applies it to namespace names).
pub const MAX_LABEL_LEN: usize = 63;

/// A client name: a DNS-1123 label (lowercase a-z, 0-9, '-', 1..=63 chars, starts and ends alphanumeric).
///
/// Holding one proves the text cannot be a shell word, a flag (`--post-renderer=…`), a
/// path or a routing-key wildcard, so it may go into argument vectors and object names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct ClientName(String);

impl ClientName {
    /// Checks `s` and wraps it; errors name the field `client`.
    pub fn parse(s: &str) -> Result<Self, EnvelopeError> {
        validate_dns1123_label("client", s)?;
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Validate any DNS-1123 label, naming `field` in the error (used for "client", "namespace").
pub fn validate_dns1123_label(field: &str, value: &str) -> Result<(), EnvelopeError> {
    let invalid = |reason: String| Err(EnvelopeError::invalid(field, reason));
    if value.is_empty() {
        return invalid("is empty; a DNS-1123 label has 1 to 63 characters".into());
    }
    // Report the first offending character by position rather than echoing the whole
    // value: it may be hostile text that should not be copied into logs verbatim.
    if let Some((at, c)) = value.chars().enumerate().find(|(_, c)| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
    {
        return invalid(format!(
            "has {c:?} at position {}; only lowercase letters a-z, digits and '-' are allowed",
            at + 1
        ));
    }
    // Only ASCII is left, so bytes are characters.
    if value.len() > MAX_LABEL_LEN {
        return invalid(format!(
            "is {} characters long, over the DNS-1123 limit of {MAX_LABEL_LEN}",
            value.len()
        ));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return invalid("must start and end with a lowercase letter or a digit".into());
    }
    Ok(())
}

impl fmt::Display for ClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ClientName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for ClientName {
    type Err = EnvelopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Deserializing validates too, so a `ClientName` in any request type is always valid.
impl<'de> serde::Deserialize<'de> for ClientName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> String {
        match ClientName::parse(s) {
            Err(EnvelopeError::Invalid { field, reason }) => {
                assert_eq!(field, "client");
                reason
            }
            other => panic!("{s:?} gave {other:?}"),
        }
    }

    #[test]
    fn accepts_a_plain_client_name() {
        let name = ClientName::parse("cliente02").unwrap();
        assert_eq!(name.as_str(), "cliente02");
        assert_eq!(name.to_string(), "cliente02");
        assert_eq!(name.as_ref(), "cliente02");
        assert_eq!("a-1".parse::<ClientName>().unwrap().as_str(), "a-1");
    }

    #[test]
    fn accepts_63_characters_and_rejects_64() {
        assert!(ClientName::parse(&"a".repeat(63)).is_ok());
        assert!(reason(&"a".repeat(64)).contains("64 characters"));
    }

    #[test]
    fn rejects_shell_and_flag_injection() {
        assert!(reason("x;rm -rf /").contains("';' at position 2"));
        assert!(reason("--post-renderer=evil").contains("'='"));
    }

    #[test]
    fn rejects_uppercase_leading_or_trailing_dash_and_empty() {
        assert!(reason("Upper").contains("'U' at position 1"));
        assert!(reason("-a").contains("start and end"));
        assert!(reason("a-").contains("start and end"));
        assert!(reason("").contains("empty"));
        assert!(reason("a.b").contains("'.'"));
        assert!(reason("é").contains("'é'"));
    }

    #[test]
    fn validate_names_the_given_field() {
        let error = validate_dns1123_label("namespace", "Bad").unwrap_err();
        assert_eq!(error.field(), Some("namespace"));
    }

    #[test]
    fn serde_is_the_plain_string_and_validates_on_read() {
        let name = ClientName::parse("cliente02").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"cliente02\"");
        let back: ClientName = serde_json::from_str("\"cliente02\"").unwrap();
        assert_eq!(back, name);
        assert!(serde_json::from_str::<ClientName>("\"Evil;\"").is_err());
    }
}
