//! The OpenID provider the producer trusts (`PRODUCER_OIDC_ISSUER`): discovered at start from
//! its `.well-known/openid-configuration`, its tokens verified against its JWKS (signature by
//! an asymmetric algorithm only, `iss`, `aud`, `exp`, `nbf`). [`login`] is the portal's
//! authorization code flow with PKCE.

mod keys;
pub mod login;

use std::time::Duration;

use anyhow::Context;
use jsonwebtoken::{Algorithm, Validation};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::identity::ClaimRules;
use super::settings::SignInArgs;
use keys::KeySet;

/// The path of the portal the provider redirects back to.
pub const CALLBACK_PATH: &str = "/auth/callback";
/// Longest wait for the provider (discovery, keys, the code exchange).
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;
/// The signature algorithms accepted: asymmetric only (an HMAC "signed" with the public key
/// would verify against anything the provider published).
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// What discovery says about the provider.
#[derive(Debug, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    end_session_endpoint: Option<String>,
    /// RFC 9207: the provider names itself in every authorization response (`iss`).
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl Metadata {
    fn answered_by_this_provider(&self, iss: Option<&str>) -> bool {
        match iss {
            Some(iss) => iss == self.issuer,
            None => !self.authorization_response_iss_parameter_supported,
        }
    }
}

/// A discovered provider and this producer's client there.
#[derive(Debug)]
pub struct Provider {
    metadata: Metadata,
    pub client_id: String,
    client_secret: Option<SecretString>,
    pub redirect_url: Url,
    audience: String,
    scopes: String,
    pub rules: ClaimRules,
    keys: KeySet,
    http: reqwest::Client,
}

/// Why a token was refused (logged; never the token itself).
#[derive(Debug, thiserror::Error)]
pub enum TokenRefusal {
    #[error("not a JWT signed with an accepted algorithm: {0}")]
    Malformed(String),
    #[error("no key of the provider verifies it (key id {0:?})")]
    UnknownKey(Option<String>),
    #[error("{0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
}

impl Provider {
    /// Discovers the provider of `args` and fetches its keys; an error names what is missing or
    /// what the provider did not answer.
    pub async fn discover(args: &SignInArgs) -> anyhow::Result<Provider> {
        let issuer = args.oidc_issuer.as_deref().context("PRODUCER_OIDC_ISSUER is not set")?;
        let client_id = args
            .oidc_client_id
            .clone()
            .filter(|c| !c.is_empty())
            .context("PRODUCER_OIDC_ISSUER is set: set PRODUCER_OIDC_CLIENT_ID too")?;
        let redirect = args
            .oidc_redirect_url
            .as_deref()
            .context("PRODUCER_OIDC_ISSUER is set: set PRODUCER_OIDC_REDIRECT_URL (https://<portal>/auth/callback) too")?;
        let redirect_url = Url::parse(redirect).context("PRODUCER_OIDC_REDIRECT_URL is not a URL")?;
        anyhow::ensure!(
            redirect_url.path() == CALLBACK_PATH,
            "PRODUCER_OIDC_REDIRECT_URL must end in {CALLBACK_PATH} (the portal's callback), not {:?}",
            redirect_url.path()
        );
        let issuer_url = Url::parse(issuer).context("PRODUCER_OIDC_ISSUER is not a URL")?;
        anyhow::ensure!(
            issuer_url.scheme() == "https" || is_loopback(&issuer_url),
            "PRODUCER_OIDC_ISSUER must be https (plain http only on loopback, for tests)"
        );
        let http = reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the HTTP client for the OpenID provider")?;
        let discovery = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let fail = |what: String| anyhow::anyhow!("OpenID discovery at {discovery} failed: {what}");
        let response = http.get(&discovery).send().await.map_err(|e| fail(chain(&e)))?;
        if !response.status().is_success() {
            return Err(fail(format!("it answered {}", response.status())));
        }
        let metadata: Metadata = response.json().await.map_err(|e| fail(e.to_string()))?;
        anyhow::ensure!(
            metadata.issuer == issuer,
            "OpenID discovery at {discovery} names issuer {:?}, not PRODUCER_OIDC_ISSUER {issuer:?}",
            metadata.issuer
        );
        let keys = KeySet::fetch(&metadata.jwks_uri, http.clone(), args.oidc_jwks_min_refresh).await?;
        tracing::info!(issuer = %issuer, client_id = %client_id, "OpenID provider discovered");
        Ok(Provider {
            audience: args.oidc_audience.clone().unwrap_or_else(|| client_id.clone()),
            client_secret: args.oidc_client_secret.clone(),
            metadata,
            client_id,
            redirect_url,
            scopes: args.oidc_scopes.clone(),
            rules: ClaimRules {
                clients_claim: args.oidc_clients_claim.clone(),
                roles_claim: args.oidc_roles_claim.clone(),
                operator_role: args.oidc_operator_role.clone(),
            },
            keys,
            http,
        })
    }

    /// The claims of an API access token, verified.
    pub async fn verify_access_token(&self, token: &str) -> Result<Value, TokenRefusal> {
        self.verify(token, &self.audience).await
    }

    /// The claims of `token` once its signature, issuer, audience `audience` and times hold.
    async fn verify(&self, token: &str, audience: &str) -> Result<Value, TokenRefusal> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenRefusal::Malformed(e.to_string()))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(TokenRefusal::Malformed(format!("{:?} is not accepted", header.alg)));
        }
        let key = self
            .keys
            .key_for(header.kid.as_deref(), header.alg)
            .await
            .ok_or_else(|| TokenRefusal::UnknownKey(header.kid.clone()))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.metadata.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Ok(jsonwebtoken::decode::<Value>(token, &key, &validation)?.claims)
    }

    /// Whether an authorization response's `iss` (RFC 9207) is this provider's: when the
    /// provider promises one it must be there, and any given must be its issuer (a browser sent
    /// back with another provider's code is refused, the mix-up attack).
    pub fn answered_by_this_provider(&self, iss: Option<&str>) -> bool {
        self.metadata.answered_by_this_provider(iss)
    }

    /// Where the portal sends a browser after sign-out: the provider's end-session endpoint
    /// (when it has one), back to the portal's `/signed-out`.
    pub fn end_session_url(&self) -> Option<String> {
        let endpoint = self.metadata.end_session_endpoint.as_deref()?;
        let mut url = Url::parse(endpoint).ok()?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("post_logout_redirect_uri", &format!("{}/signed-out", self.public_origin()));
        Some(url.into())
    }

    /// The portal's origin as browsers see it (the redirect URL's).
    pub fn public_origin(&self) -> String {
        self.redirect_url.origin().ascii_serialization()
    }
}

/// An error with its causes, `a: b: c` (reqwest's own message leaves out why a request failed).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::Metadata;

    fn metadata(iss_supported: bool) -> Metadata {
        serde_json::from_value(serde_json::json!({
            "issuer": "https://id.example.com/realms/eda",
            "authorization_endpoint": "https://id.example.com/auth",
            "token_endpoint": "https://id.example.com/token",
            "jwks_uri": "https://id.example.com/jwks",
            "authorization_response_iss_parameter_supported": iss_supported,
        }))
        .unwrap()
    }

    #[test]
    fn an_authorization_response_from_another_issuer_is_refused() {
        for supported in [true, false] {
            let m = metadata(supported);
            assert!(m.answered_by_this_provider(Some("https://id.example.com/realms/eda")));
            assert!(!m.answered_by_this_provider(Some("https://evil.example/")), "mix-up");
        }
        // Missing: refused only where the provider promised to name itself.
        assert!(!metadata(true).answered_by_this_provider(None));
        assert!(metadata(false).answered_by_this_provider(None));
    }
}
