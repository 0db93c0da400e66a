//! Password hashes of the portal login: argon2id PHC strings, made by `producer hash-password`.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

/// Hashes a password with argon2id and a random salt, as a PHC string (`$argon2id$v=19$…`).
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Checks that `phc` is a PHC string argon2 can verify against (at start-up, to fail loudly).
pub fn check_hash(phc: &str) -> Result<(), String> {
    PasswordHash::new(phc).map(|_| ()).map_err(|e| format!("not an argon2 PHC hash ({e})"))
}

/// Whether `password` matches the PHC hash; slow on purpose (argon2): call off the async threads.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        check_hash(&phc).unwrap();
        assert!(verify("correct horse", &phc));
        assert!(!verify("correct hors", &phc));
        assert!(check_hash("plaintext").is_err());
        assert!(!verify("plaintext", "plaintext"));
    }
}
