//! Who may use the producer and for which clients: static bearer tokens (`PRODUCER_API_TOKENS`)
//! and one basic-auth login (`PRODUCER_BASIC_AUTH=user:<argon2 hash>`), which act for every
//! client, and OpenID Connect (`PRODUCER_OIDC_*`): JWT access tokens for the API and a sealed
//! session cookie for the portal, acting for the clients their claims grant. No default
//! credentials; secrets compared in constant time and never logged.

pub mod csrf;
pub mod identity;
mod middleware;
pub mod oidc;
pub mod password;
pub mod session;
pub mod settings;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, HeaderMap};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use identity::{Grant, Identity};
pub use middleware::{require_api, require_portal};
pub use settings::SignInArgs;

use session::{Sealer, Session, SESSION_COOKIE};

/// Logins that verified recently, kept as digests so argon2 (tens of milliseconds by design)
/// runs once per login rather than on every request a browser repeats them on.
const VERIFIED_LOGINS_KEPT: usize = 16;

/// Why the configured credentials cannot be used; the producer does not start.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no credentials configured: set PRODUCER_API_TOKENS, PRODUCER_BASIC_AUTH and/or \
         PRODUCER_OIDC_ISSUER (or pass --insecure-no-auth for local development)"
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
    sign_in: Option<SignIn>,
}

/// OpenID Connect: the provider, and the sealer of the portal's session cookie.
#[derive(Debug)]
pub struct SignIn {
    pub provider: oidc::Provider,
    pub sealer: Sealer,
    pub session_ttl: Duration,
}

/// What the credentials of a request say.
#[derive(Debug)]
pub enum Identified {
    As(Identity),
    /// A credential was sent and refused; why (for the log, never the credential).
    Refused(String),
    /// No credential at all.
    Nobody,
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
            .field("oidc", &self.inner.sign_in.is_some())
            .finish()
    }
}

impl Auth {
    /// The credentials of `config`, discovering the OpenID provider when one is set.
    pub async fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        let sign_in = match &config.sign_in.oidc_issuer {
            None => None,
            Some(_) => {
                let key = config.sign_in.session_key.as_ref().ok_or_else(|| {
                    anyhow::anyhow!("PRODUCER_OIDC_ISSUER is set: set PRODUCER_SESSION_KEY too (e.g. `openssl rand -base64 32`)")
                })?;
                let sealer =
                    Sealer::new(key, !config.sign_in.session_cookie_insecure).map_err(anyhow::Error::msg)?;
                let provider = oidc::Provider::discover(&config.sign_in).await?;
                Some(SignIn { provider, sealer, session_ttl: config.sign_in.session_ttl })
            }
        };
        let auth = Auth::with_sign_in(
            config.api_tokens.as_ref(),
            config.basic_auth.as_ref(),
            config.insecure_no_auth,
            sign_in,
        )?;
        Ok(auth)
    }

    /// Reads the configured credentials; refuses none unless `insecure_no_auth`.
    pub fn new(
        tokens: Option<&SecretString>,
        basic: Option<&SecretString>,
        insecure_no_auth: bool,
    ) -> Result<Self, AuthError> {
        Self::with_sign_in(tokens, basic, insecure_no_auth, None)
    }

    fn with_sign_in(
        tokens: Option<&SecretString>,
        basic: Option<&SecretString>,
        insecure_no_auth: bool,
        sign_in: Option<SignIn>,
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
        let open = tokens.is_empty() && login.is_none() && sign_in.is_none();
        if open && !insecure_no_auth {
            return Err(AuthError::NoCredentials);
        }
        let verified = Mutex::new(Vec::new());
        Ok(Auth { inner: Arc::new(Inner { tokens, login, open, verified, sign_in }) })
    }

    /// OpenID Connect, when configured.
    pub fn sign_in(&self) -> Option<&SignIn> {
        self.inner.sign_in.as_ref()
    }

    /// The portal's origin as browsers see it, when OpenID Connect names it (CSRF checks).
    pub fn public_origin(&self) -> Option<String> {
        self.sign_in().map(|s| s.provider.public_origin())
    }

    /// No credential is configured and `--insecure-no-auth` allowed it.
    pub fn is_open(&self) -> bool {
        self.inner.open
    }

    /// Whether a portal login is configured (browsers are then asked for it).
    pub fn has_login(&self) -> bool {
        self.inner.login.is_some()
    }

    /// Whether the request carries a valid credential (any grant).
    pub async fn allows(&self, headers: &HeaderMap) -> bool {
        matches!(self.identify(headers, true).await, Identified::As(_))
    }

    /// Who the request's credentials name: an `Authorization` header (static token, basic login,
    /// or a JWT from the provider) or, when `session` allows it, the portal's session cookie.
    pub async fn identify(&self, headers: &HeaderMap, session: bool) -> Identified {
        if self.inner.open {
            return Identified::As(Identity::operator("anonymous (--insecure-no-auth)"));
        }
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let Ok(value) = value.to_str() else {
                return Identified::Refused("unreadable Authorization".into());
            };
            let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
            let credential = credential.trim();
            if scheme.eq_ignore_ascii_case("bearer") {
                if self.token_matches(credential) {
                    return Identified::As(Identity::operator("api token"));
                }
                let Some(sign_in) = self.sign_in() else {
                    return Identified::Refused("unknown bearer token".into());
                };
                return match sign_in.provider.verify_access_token(credential).await {
                    Ok(claims) => Identified::As(sign_in.provider.rules.identity(&claims)),
                    Err(why) => Identified::Refused(format!("bearer token refused: {why}")),
                };
            }
            if scheme.eq_ignore_ascii_case("basic") {
                return match self.login_matches(credential).await {
                    Some(user) => Identified::As(Identity::operator(&user)),
                    None => Identified::Refused("basic-auth login refused".into()),
                };
            }
            return Identified::Refused("unknown Authorization scheme".into());
        }
        if session {
            if let Some(sign_in) = self.sign_in() {
                if let Some(s) = sign_in.sealer.open::<Session>(SESSION_COOKIE, headers) {
                    return Identified::As(Identity { name: s.name, grant: s.grant, csrf: Some(s.csrf) });
                }
            }
        }
        Identified::Nobody
    }

    fn token_matches(&self, token: &str) -> bool {
        let candidate = digest(token);
        // Fold over every token, no early exit, so timing does not say which one was close.
        let found =
            self.inner.tokens.iter().fold(subtle::Choice::from(0), |acc, t| acc | t.ct_eq(&candidate));
        bool::from(found)
    }

    /// The user of a basic-auth credential that matches the login.
    async fn login_matches(&self, encoded: &str) -> Option<String> {
        let login = self.inner.login.as_ref()?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())?;
        let (user, password) = decoded.split_once(':')?;
        let seen = digest(&decoded);
        let known = self
            .inner
            .verified
            .lock()
            .expect("verified logins poisoned")
            .iter()
            .any(|d| bool::from(d.ct_eq(&seen)));
        if known {
            return Some(user.to_owned());
        }
        if !bool::from(digest(user).ct_eq(&login.user_digest)) {
            return None;
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
        ok.then(|| user.to_owned())
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
