//! The portal's sign-in kept in the browser, not on the server: a [`Session`] (and the short
//! [`LoginAttempt`] of a sign-in under way) sealed with AES-256-GCM under `PRODUCER_SESSION_KEY`
//! into an `HttpOnly`, `SameSite=Lax` (and `Secure`, unless switched off for local http)
//! cookie. Encrypted and authenticated, so a browser can neither read nor change it, and any
//! replica with the same key opens it.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::identity::Grant;

/// The cookie of a signed-in browser.
pub const SESSION_COOKIE: &str = "eda_session";
/// The cookie of a sign-in under way (state, nonce, PKCE verifier), for the provider's redirect back.
pub const LOGIN_COOKIE: &str = "eda_login";
/// Shortest `PRODUCER_SESSION_KEY` accepted, in bytes.
const MIN_KEY_BYTES: usize = 32;

/// A signed-in person, as the cookie holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub name: String,
    pub grant: Grant,
    /// The token every state-changing form of this session carries.
    pub csrf: String,
    /// Until when (seconds since the epoch) the session is good.
    pub expires: u64,
}

/// A sign-in under way: what the provider's redirect back must match.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginAttempt {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// The portal path to return to.
    pub next: String,
    pub expires: u64,
}

/// Something sealed in a cookie with its own expiry.
pub trait Expiring {
    fn expires(&self) -> u64;
}

impl Expiring for Session {
    fn expires(&self) -> u64 {
        self.expires
    }
}

impl Expiring for LoginAttempt {
    fn expires(&self) -> u64 {
        self.expires
    }
}

/// The keys of `PRODUCER_SESSION_KEY`: the first seals, every one opens (so a key can be rotated
/// in without signing everyone out).
pub struct Sealer {
    keys: Vec<LessSafeKey>,
    secure: bool,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("keys", &self.keys.len()).field("secure", &self.secure).finish()
    }
}

impl Sealer {
    /// The sealer of comma-separated keys of 32 bytes or more each; `secure` marks cookies `Secure`.
    pub fn new(keys: &SecretString, secure: bool) -> Result<Sealer, String> {
        let keys: Vec<LessSafeKey> = keys
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                if k.len() < MIN_KEY_BYTES {
                    return Err(format!(
                        "PRODUCER_SESSION_KEY: each key needs {MIN_KEY_BYTES} characters or more (e.g. `openssl rand -base64 32`)"
                    ));
                }
                let derived = Sha256::new().chain_update(b"eda producer session v1\0").chain_update(k).finalize();
                let key = UnboundKey::new(&AES_256_GCM, &derived).map_err(|_| "cannot make an AES key".to_owned())?;
                Ok(LessSafeKey::new(key))
            })
            .collect::<Result<_, _>>()?;
        if keys.is_empty() {
            return Err("PRODUCER_SESSION_KEY is empty".into());
        }
        Ok(Sealer { keys, secure })
    }

    /// `value` sealed for the cookie `name` (the name is authenticated too: a login attempt
    /// cannot be replayed as a session).
    pub fn seal<T: Serialize>(&self, name: &str, value: &T) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("the system's random source works");
        let mut data = serde_json::to_vec(value).expect("a cookie value serializes");
        self.keys[0]
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(name), &mut data)
            .expect("AES-GCM seals");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The value of the cookie `name` in `headers`, if one opens under a key and has not expired.
    pub fn open<T: DeserializeOwned + Expiring>(&self, name: &str, headers: &HeaderMap) -> Option<T> {
        let sealed = cookie(headers, name)?;
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let value: T = self.keys.iter().find_map(|key| {
            let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
            let mut data = data.to_vec();
            let plain = key.open_in_place(nonce, Aad::from(name), &mut data).ok()?;
            serde_json::from_slice(plain).ok()
        })?;
        (value.expires() > now()).then_some(value)
    }

    /// `Set-Cookie` for `name` holding `sealed` for `max_age` seconds.
    pub fn set_cookie(&self, name: &str, sealed: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!("{name}={sealed}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
        HeaderValue::from_str(&text).expect("a sealed cookie is a header value")
    }

    /// `Set-Cookie` that removes the cookie `name`.
    pub fn clear_cookie(&self, name: &str) -> HeaderValue {
        self.set_cookie(name, "", 0)
    }
}

/// The value of the cookie `name` among the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A random token of 32 bytes, URL-safe base64 (state, nonce, PKCE verifier, CSRF token).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system's random source works");
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(keys: &str) -> Sealer {
        Sealer::new(&keys.to_owned().into(), true).unwrap()
    }

    fn with_cookie(name: &str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&format!("other=1; {name}={value}")).unwrap());
        headers
    }

    fn session(expires: u64) -> Session {
        Session { name: "ann".into(), grant: Grant::Every, csrf: random_token(), expires }
    }

    const KEY_A: &str = "0123456789abcdef0123456789abcdef";
    const KEY_B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn a_sealed_session_opens_under_its_key_only_and_not_once_expired_or_changed() {
        let a = sealer(KEY_A);
        let good = session(now() + 60);
        let sealed = a.seal(SESSION_COOKIE, &good);
        assert!(!sealed.contains("ann"), "the cookie is encrypted");
        assert_eq!(
            a.open::<Session>(SESSION_COOKIE, &with_cookie(SESSION_COOKIE, &sealed)),
            Some(good.clone())
        );
        assert_eq!(
            sealer(KEY_B).open::<Session>(SESSION_COOKIE, &with_cookie(SESSION_COOKIE, &sealed)),
            None
        );
        assert_eq!(
            sealer(&format!("{KEY_B},{KEY_A}"))
                .open::<Session>(SESSION_COOKIE, &with_cookie(SESSION_COOKIE, &sealed)),
            Some(good),
            "an older key still opens"
        );
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(a.open::<Session>(SESSION_COOKIE, &with_cookie(SESSION_COOKIE, &tampered)), None);
        let expired = a.seal(SESSION_COOKIE, &session(now() - 1));
        assert_eq!(a.open::<Session>(SESSION_COOKIE, &with_cookie(SESSION_COOKIE, &expired)), None);
        let renamed = a.seal(LOGIN_COOKIE, &session(now() + 60));
        assert_eq!(a.open::<Session>(SESSION_COOKIE, &with_cookie(SESSION_COOKIE, &renamed)), None);
    }

    #[test]
    fn short_keys_are_refused_and_cookies_carry_the_flags() {
        assert!(Sealer::new(&"short".to_owned().into(), true).is_err());
        assert!(Sealer::new(&" , ".to_owned().into(), true).is_err());
        let cookie = sealer(KEY_A).set_cookie(SESSION_COOKIE, "v", 60);
        assert_eq!(cookie, "eda_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        let local = Sealer::new(&KEY_A.to_owned().into(), false).unwrap().clear_cookie(SESSION_COOKIE);
        assert_eq!(local, "eda_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    }
}
