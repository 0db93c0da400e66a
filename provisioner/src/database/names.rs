//! The tenant's PostgreSQL identifiers, from its namespace and release: one name for both the
//! role and the database it owns, safe to quote and within PostgreSQL's 63-byte limit.

use sha2::{Digest, Sha256};

/// PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1); eda never lets it.
pub const MAX_IDENTIFIER: usize = 63;

/// `<namespace>_<release>`: both are DNS-1123 labels, which never hold `_`, so the join is
/// unambiguous (`a-b` + `c` and `a` + `b-c` differ) and the result is `[a-z0-9_-]`, always
/// quoted. Longer than 63 bytes: cut, and 8 hex digits of the SHA-256 of the whole name
/// appended, so two long names that share a prefix stay distinct.
pub fn identifier(namespace: &str, release: &str) -> Result<String, String> {
    for (field, value) in [("namespace", namespace), ("release", release)] {
        let ok = !value.is_empty()
            && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(format!(
                "{field} `{value}` is not a DNS-1123 label; no database name is made from it"
            ));
        }
    }
    let whole = format!("{namespace}_{release}");
    if whole.len() <= MAX_IDENTIFIER {
        return Ok(whole);
    }
    let digest = Sha256::digest(whole.as_bytes());
    let suffix: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let keep = MAX_IDENTIFIER - suffix.len() - 1;
    Ok(format!("{}_{suffix}", &whole[..keep]))
}

/// A double-quoted identifier (`"` doubled), for SQL that cannot take it as a parameter.
pub fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// A single-quoted literal (`'` doubled); for values PostgreSQL takes only as literals, such
/// as a role's password verifier.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_join_namespace_and_release_with_an_underscore_no_label_holds() {
        assert_eq!(identifier("cliente02", "product-a").unwrap(), "cliente02_product-a");
        assert_ne!(identifier("a-b", "c").unwrap(), identifier("a", "b-c").unwrap());
    }

    #[test]
    fn long_names_are_cut_to_63_bytes_with_a_hash_that_keeps_them_distinct() {
        let ns = "a".repeat(63);
        let one = identifier(&ns, "product-a").unwrap();
        let two = identifier(&ns, "product-b").unwrap();
        assert_eq!(one.len(), MAX_IDENTIFIER);
        assert_eq!(two.len(), MAX_IDENTIFIER);
        assert_ne!(one, two);
        assert!(
            one.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'),
            "{one}"
        );
        assert_eq!(identifier(&ns, "product-a").unwrap(), one, "the same tenant, the same name");
    }

    #[test]
    fn nothing_that_is_not_a_dns_label_becomes_a_name() {
        for (ns, release) in
            [("a\"; DROP ROLE postgres; --", "x"), ("ok", "x y"), ("", "x"), ("UPPER", "x"), ("ok", "r_1")]
        {
            let e = identifier(ns, release).unwrap_err();
            assert!(e.contains("is not a DNS-1123 label"), "{e}");
        }
    }

    #[test]
    fn quoting_doubles_the_quote_character() {
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
