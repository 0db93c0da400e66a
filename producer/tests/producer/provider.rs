//! The OpenID provider of the sign-in tests: tests/fixtures/oidc/provider.mjs (oidc-provider,
//! installed by scripts/test-tools.d/oidc-provider.sh) run by node on loopback, and a producer
//! configured to trust it.

use std::path::Path;
use std::process::Stdio;

use eda_tests::broker::TestBroker;
use producer::Config;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::*;

/// The portal's client at the provider.
pub const PORTAL_CLIENT: &str = "eda-portal";
/// The `aud` of the provider's access tokens for the producer's API.
pub const AUDIENCE: &str = "eda-producer-api";

/// A running provider; stopped when dropped.
pub struct OpenIdProvider {
    pub issuer: String,
    /// The portal client's secret, made for this run (so a test can look for it in logs).
    pub portal_secret: String,
    http: reqwest::Client,
    _node: Child,
}

impl OpenIdProvider {
    pub async fn start() -> OpenIdProvider {
        let dir = eda_tests::tools::tool_dir("oidc-provider");
        assert!(
            dir.join("node_modules/oidc-provider/package.json").exists(),
            "oidc-provider is missing in {}: run scripts/test-tools.sh",
            dir.display()
        );
        // Next to its node_modules, so node resolves the fixture's imports there; written whole
        // and renamed, as parallel tests write the same file.
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/oidc/provider.mjs");
        let script = dir.join("provider.mjs");
        let partial = dir.join(format!("provider.mjs.{}", uuid::Uuid::new_v4().simple()));
        std::fs::copy(&fixture, &partial).expect("copy the provider fixture");
        std::fs::rename(&partial, &script).unwrap();
        let portal_secret = format!("portal-secret-{}", uuid::Uuid::new_v4().simple());
        let mut node = Command::new("node")
            .arg(&script)
            .env("EDA_OIDC_PORTAL_SECRET", &portal_secret)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start node (scripts/test-tools.sh installs it)");
        let mut lines = BufReader::new(node.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("the provider says where it listens")
            .unwrap()
            .expect("the provider printed its issuer");
        let issuer = serde_json::from_str::<Value>(&first).unwrap()["issuer"].as_str().unwrap().to_owned();
        // oidc-provider prints notices on stdout later: read them, or node dies of a broken pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        OpenIdProvider { issuer, portal_secret, http: reqwest::Client::new(), _node: node }
    }

    async fn admin(&self, path: &str, body: Value) -> Value {
        let response = self.http.post(format!("{}{path}", self.issuer)).json(&body).send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.unwrap()
    }

    /// Registers the portal at `base` (its callback and post-logout addresses).
    pub async fn register_portal(&self, base: &str) {
        self.admin("/__configure", json!({ "portal": base })).await;
    }

    /// Replaces the provider's signing key; returns the new key id.
    pub async fn rotate_keys(&self) -> String {
        self.admin("/__rotate", json!({})).await["kid"].as_str().unwrap().to_owned()
    }

    /// A JWT of `claims` signed with the provider's key (`"current"`) or with one it never
    /// published (`"stranger"`, under the current key id or `kid`).
    pub async fn mint(&self, claims: Value, key: &str, kid: Option<&str>) -> String {
        let minted = self.admin("/__mint", json!({ "claims": claims, "key": key, "kid": kid })).await;
        minted["token"].as_str().unwrap().to_owned()
    }

    /// How many times the JWKS has been fetched.
    pub async fn jwks_fetches(&self) -> u64 {
        let stats: Value =
            self.http.get(format!("{}/__stats", self.issuer)).send().await.unwrap().json().await.unwrap();
        stats["jwks_fetches"].as_u64().unwrap()
    }

    /// An access token of the machine client `client` (`acme-machine`, `ops-machine`), from the
    /// client credentials grant.
    pub async fn machine_token(&self, client: &str) -> String {
        let response = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some(format!("{client}-secret")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=orders")
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap_or_else(|| panic!("no access token: {body}")).to_owned()
    }
}

/// A producer trusting `provider` (and no other credential), on a port chosen first so the
/// redirect URL can name it; the provider learns the portal's address.
pub async fn producer_for(
    provider: &OpenIdProvider,
    t: TestBroker,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut config = config(&t);
    config.api_tokens = None;
    config.common.http_addr = Some(format!("127.0.0.1:{port}").parse().unwrap());
    let sign_in = &mut config.sign_in;
    sign_in.oidc_issuer = Some(provider.issuer.clone());
    sign_in.oidc_client_id = Some(PORTAL_CLIENT.into());
    sign_in.oidc_client_secret = Some(provider.portal_secret.clone().into());
    sign_in.oidc_redirect_url = Some(format!("{base}/auth/callback"));
    sign_in.oidc_audience = Some(AUDIENCE.into());
    sign_in.oidc_scopes = "openid profile eda".into();
    sign_in.session_key = Some(format!("test-session-key-{}", uuid::Uuid::new_v4().simple()).into());
    sign_in.session_cookie_insecure = true;
    adjust(&mut config);
    provider.register_portal(&base).await;
    TestApp::spawn_with(t, config, true).await
}
