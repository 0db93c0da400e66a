//! Who may use the producer: bearer tokens (`PRODUCER_API_TOKENS`) and one basic-auth login
//! (`PRODUCER_BASIC_AUTH=user:<argon2 hash>`). No default credentials; secrets compared in
//! constant time and never logged.

mod middleware;
pub mod password;

use std::sync::{Arc, Mutex};

use axum::http::{header, HeaderMap};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use middleware::{require_api, require_portal};

/// Logins that verified recently, kept as digests so argon2 (tens of milliseconds by design)
/// runs once per login rather than on every request a browser repeats them on.
const VERIFIED_LOGINS_KEPT: usize = 16;

/// Why the configured credentials cannot be used; the producer does not start.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no credentials configured: set PRODUCER_API_TOKENS and/or PRODUCER_BASIC_AUTH \
         (or pass --insecure-no-auth for local development)"
    )]
    NoCredentials,
    #[error("PRODUCER_BASIC_AUTH must be user:<argon2 PHC hash>: {0}")]
    BadBasicAuth(String),
}

/// The credentials the producer accepts.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    /// SHA-256 of each token: equal-length digests compare in constant time whatever the token lengths.
    tokens: Vec<[u8; 32]>,
    login: Option<Login>,
    open: bool,
    verified: Mutex<Vec<[u8; 32]>>,
}

struct Login {
    user_digest: [u8; 32],
    phc: SecretString,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("tokens", &self.inner.tokens.len())
            .field("basic", &self.inner.login.is_some())
            .field("open", &self.inner.open)
            .finish()
    }
}

impl Auth {
    /// Reads the configured credentials; refuses none unless `insecure_no_auth`.
    pub fn new(
        tokens: Option<&SecretString>,
        basic: Option<&SecretString>,
        insecure_no_auth: bool,
    ) -> Result<Self, AuthError> {
        let tokens: Vec<[u8; 32]> = tokens
            .map(|t| {
                t.expose_secret().split(',').map(str::trim).filter(|t| !t.is_empty()).map(digest).collect()
            })
            .unwrap_or_default();
        let login = match basic.map(|b| b.expose_secret().trim().to_owned()).filter(|b| !b.is_empty()) {
            None => None,
            Some(text) => {
                let (user, phc) = text
                    .split_once(':')
                    .filter(|(u, _)| !u.is_empty())
                    .ok_or_else(|| AuthError::BadBasicAuth("no `user:` before the hash".into()))?;
                password::check_hash(phc).map_err(AuthError::BadBasicAuth)?;
                Some(Login { user_digest: digest(user), phc: phc.to_owned().into() })
            }
        };
        let open = tokens.is_empty() && login.is_none();
        if open && !insecure_no_auth {
            return Err(AuthError::NoCredentials);
        }
        Ok(Auth { inner: Arc::new(Inner { tokens, login, open, verified: Mutex::new(Vec::new()) }) })
    }

    /// No credential is configured and `--insecure-no-auth` allowed it.
    pub fn is_open(&self) -> bool {
        self.inner.open
    }

    /// Whether a portal login is configured (browsers are then asked for it).
    pub fn has_login(&self) -> bool {
        self.inner.login.is_some()
    }

    /// Whether the request carries a valid bearer token or basic-auth login.
    pub async fn allows(&self, headers: &HeaderMap) -> bool {
        if self.inner.open {
            return true;
        }
        let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
        let credential = credential.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return self.token_matches(credential);
        }
        if scheme.eq_ignore_ascii_case("basic") {
            return self.login_matches(credential).await;
        }
        false
    }

    fn token_matches(&self, token: &str) -> bool {
        let candidate = digest(token);
        // Fold over every token, no early exit, so timing does not say which one was close.
        let found =
            self.inner.tokens.iter().fold(subtle::Choice::from(0), |acc, t| acc | t.ct_eq(&candidate));
        bool::from(found)
    }

    async fn login_matches(&self, encoded: &str) -> bool {
        let Some(login) = &self.inner.login else { return false };
        let Some(decoded) = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        else {
            return false;
        };
        let Some((user, password)) = decoded.split_once(':') else { return false };
        let seen = digest(&decoded);
        let known = self
            .inner
            .verified
            .lock()
            .expect("verified logins poisoned")
            .iter()
            .any(|d| bool::from(d.ct_eq(&seen)));
        if known {
            return true;
        }
        if !bool::from(digest(user).ct_eq(&login.user_digest)) {
            return false;
        }
        let (password, phc) = (password.to_owned(), login.phc.expose_secret().to_owned());
        let ok =
            tokio::task::spawn_blocking(move || password::verify(&password, &phc)).await.unwrap_or(false);
        if ok {
            let mut verified = self.inner.verified.lock().expect("verified logins poisoned");
            if verified.len() >= VERIFIED_LOGINS_KEPT {
                verified.remove(0);
            }
            verified.push(seen);
        }
        ok
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
