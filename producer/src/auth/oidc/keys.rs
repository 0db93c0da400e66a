//! The provider's signing keys (its JWKS), fetched at start and again when a token names a key
//! id not seen yet (the provider rotated its keys), at most once per `min_refresh` so a flood
//! of tokens with made-up key ids cannot make the producer hammer the provider.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// The JWKS of one provider.
#[derive(Debug)]
pub struct KeySet {
    uri: String,
    http: reqwest::Client,
    keys: RwLock<Vec<Jwk>>,
    /// When the set was last fetched (or tried); held while fetching, so one request fetches.
    fetched: tokio::sync::Mutex<Instant>,
    min_refresh: Duration,
}

impl KeySet {
    /// Fetches the set at `uri` once; an error says what failed.
    pub async fn fetch(uri: &str, http: reqwest::Client, min_refresh: Duration) -> anyhow::Result<KeySet> {
        let keys = download(&http, uri).await?;
        Ok(KeySet {
            uri: uri.to_owned(),
            http,
            keys: RwLock::new(keys),
            fetched: tokio::sync::Mutex::new(Instant::now()),
            min_refresh,
        })
    }

    /// The key that verifies a token signed with `alg` under `kid`, refetching the set once
    /// (rate-limited) when no key matches.
    pub async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
        if let Some(key) = self.find(kid, alg) {
            return Some(key);
        }
        self.refresh().await;
        self.find(kid, alg)
    }

    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
        let keys = self.keys.read().expect("key set poisoned");
        keys.iter()
            .filter(|k| kid.is_none() || k.common.key_id.as_deref() == kid)
            .filter(|k| !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption)))
            .filter(|k| k.common.key_algorithm.is_none_or(|a| a.to_string() == format!("{alg:?}")))
            .find_map(|k| DecodingKey::from_jwk(k).ok().filter(|d| d.family() == alg.family()))
    }

    async fn refresh(&self) {
        let mut fetched = self.fetched.lock().await;
        if fetched.elapsed() < self.min_refresh {
            return;
        }
        *fetched = Instant::now();
        match download(&self.http, &self.uri).await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "the OpenID provider's signing keys were fetched again");
                *self.keys.write().expect("key set poisoned") = keys;
            }
            Err(error) => {
                tracing::warn!(%error, "the OpenID provider's signing keys could not be fetched again")
            }
        }
    }
}

/// The usable keys of the JWKS at `uri` (a key of a type this producer cannot use is skipped).
async fn download(http: &reqwest::Client, uri: &str) -> anyhow::Result<Vec<Jwk>> {
    let fail = |what: String| anyhow::anyhow!("cannot read the OpenID provider's JWKS at {uri}: {what}");
    let response = http.get(uri).send().await.map_err(|e| fail(super::chain(&e)))?;
    if !response.status().is_success() {
        return Err(fail(format!("it answered {}", response.status())));
    }
    let set: Value = response.json().await.map_err(|e| fail(e.to_string()))?;
    let keys = set["keys"].as_array().ok_or_else(|| fail("no `keys` list".into()))?;
    Ok(keys.iter().filter_map(|k| serde_json::from_value(k.clone()).ok()).collect())
}
