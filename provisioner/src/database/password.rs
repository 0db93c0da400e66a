//! A tenant's password: 40 characters from the OS random source, and the SCRAM-SHA-256
//! verifier PostgreSQL stores for it — what eda sends in `CREATE ROLE ... PASSWORD`, so the
//! password itself never reaches the server (nor its statement log), as with psql's `\password`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Letters and digits only: safe in a URL, a shell and a YAML file without quoting.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const LENGTH: usize = 40;
/// PostgreSQL's default `scram_iterations`.
const ITERATIONS: u32 = 4096;

/// A new password (≈ 238 bits); the error says the OS random source failed.
pub fn generate() -> Result<SecretString, String> {
    let mut out = String::with_capacity(LENGTH);
    let mut byte = [0u8; 1];
    while out.len() < LENGTH {
        getrandom::fill(&mut byte).map_err(|e| format!("the OS random source failed: {e}"))?;
        // 62 × 4 = 248: rejecting 248..=255 keeps every character equally likely.
        if usize::from(byte[0]) < ALPHABET.len() * 4 {
            out.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    Ok(out.into())
}

/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (RFC 5802, 7677) with a fresh salt.
pub fn scram_verifier(password: &SecretString) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("the OS random source failed: {e}"))?;
    Ok(verifier_with_salt(password.expose_secret(), &salt, ITERATIONS))
}

fn verifier_with_salt(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        BASE64.encode(salt),
        BASE64.encode(stored_key),
        BASE64.encode(server_key)
    )
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_40_letters_and_digits_and_never_the_same_twice() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.expose_secret().len(), LENGTH);
        assert!(a.expose_secret().bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn the_verifier_has_postgresqls_form_and_a_fresh_salt_each_time() {
        // That PostgreSQL accepts it, and the password with it, is shown by the tests that
        // connect as the tenant to a server with scram-sha-256 (tests/tenant_database).
        let password: SecretString = "pencil".to_string().into();
        let one = scram_verifier(&password).unwrap();
        let two = scram_verifier(&password).unwrap();
        assert_ne!(one, two, "a fresh salt each time");
        let rest = one.strip_prefix("SCRAM-SHA-256$4096:").expect("mechanism and iterations");
        let (salt, keys) = rest.split_once('$').unwrap();
        let (stored, server) = keys.split_once(':').unwrap();
        assert_eq!(BASE64.decode(salt).unwrap().len(), 16);
        assert_eq!(BASE64.decode(stored).unwrap().len(), 32);
        assert_eq!(BASE64.decode(server).unwrap().len(), 32);
        assert!(!one.contains("pencil"));
        let salt = BASE64.decode(salt).unwrap();
        assert_eq!(verifier_with_salt("pencil", &salt, 4096), one, "the same salt, the same verifier");
    }
}
