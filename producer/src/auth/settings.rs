//! The sign-in flags: the OpenID provider (`PRODUCER_OIDC_*`) and the portal's session cookie
//! (`PRODUCER_SESSION_*`). docs/operations.md shows how to set them for Keycloak and others.

use std::time::Duration;

use secrecy::SecretString;

/// OpenID Connect and session settings; all optional until `PRODUCER_OIDC_ISSUER` is set.
#[derive(clap::Args, Debug, Clone)]
pub struct SignInArgs {
    /// The OpenID provider's issuer URL, e.g. `https://keycloak.example/realms/eda`
    /// (`PRODUCER_OIDC_ISSUER`; default none: no OpenID Connect). Its
    /// `.well-known/openid-configuration` is read at start; https unless on loopback.
    #[arg(long = "oidc-issuer", env = "PRODUCER_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// The producer's client id at the provider (`PRODUCER_OIDC_CLIENT_ID`; required with an issuer).
    #[arg(long = "oidc-client-id", env = "PRODUCER_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,

    /// The client's secret (`PRODUCER_OIDC_CLIENT_SECRET`; default none: a public client, PKCE only).
    #[arg(long = "oidc-client-secret", env = "PRODUCER_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<SecretString>,

    /// Where the provider sends the browser back: the portal's address + `/auth/callback`
    /// (`PRODUCER_OIDC_REDIRECT_URL`; required with an issuer), registered at the provider.
    #[arg(long = "oidc-redirect-url", env = "PRODUCER_OIDC_REDIRECT_URL")]
    pub oidc_redirect_url: Option<String>,

    /// The `aud` an API access token must carry (`PRODUCER_OIDC_AUDIENCE`; default the client id).
    #[arg(long = "oidc-audience", env = "PRODUCER_OIDC_AUDIENCE")]
    pub oidc_audience: Option<String>,

    /// The scopes the portal asks for (`PRODUCER_OIDC_SCOPES`; default `openid profile`).
    #[arg(long = "oidc-scopes", env = "PRODUCER_OIDC_SCOPES", default_value = "openid profile")]
    pub oidc_scopes: String,

    /// The claim listing the clients a person or machine may act for, a dotted path into the
    /// token (`PRODUCER_OIDC_CLIENTS_CLAIM`; default `eda_clients`); group paths count by their
    /// last segment.
    #[arg(long = "oidc-clients-claim", env = "PRODUCER_OIDC_CLIENTS_CLAIM", default_value = "eda_clients")]
    pub oidc_clients_claim: String,

    /// The claim listing roles, a dotted path (`PRODUCER_OIDC_ROLES_CLAIM`; default
    /// `realm_access.roles`, Keycloak's realm roles).
    #[arg(
        long = "oidc-roles-claim",
        env = "PRODUCER_OIDC_ROLES_CLAIM",
        default_value = "realm_access.roles"
    )]
    pub oidc_roles_claim: String,

    /// The role that acts for every client (`PRODUCER_OIDC_OPERATOR_ROLE`; default `operator`).
    #[arg(long = "oidc-operator-role", env = "PRODUCER_OIDC_OPERATOR_ROLE", default_value = "operator")]
    pub oidc_operator_role: String,

    /// Shortest time between two fetches of the provider's keys when tokens name an unknown key
    /// (`PRODUCER_OIDC_JWKS_MIN_REFRESH`; default 10s).
    #[arg(long = "oidc-jwks-min-refresh", env = "PRODUCER_OIDC_JWKS_MIN_REFRESH", default_value = "10s",
          value_parser = eda_common::config::parse_duration)]
    pub oidc_jwks_min_refresh: Duration,

    /// Keys sealing the portal's session cookie, comma-separated, 32 characters or more each; the
    /// first seals, all open (`PRODUCER_SESSION_KEY`; required with an issuer). The same on
    /// every replica.
    #[arg(long = "session-key", env = "PRODUCER_SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<SecretString>,

    /// How long a portal sign-in lasts (`PRODUCER_SESSION_TTL`; default 8h).
    #[arg(long = "session-ttl", env = "PRODUCER_SESSION_TTL", default_value = "8h",
          value_parser = eda_common::config::parse_duration)]
    pub session_ttl: Duration,

    /// Send the session cookie over plain http too, only for local development
    /// (`PRODUCER_SESSION_COOKIE_INSECURE`; default false: the cookie is `Secure`).
    #[arg(long = "session-cookie-insecure", env = "PRODUCER_SESSION_COOKIE_INSECURE")]
    pub session_cookie_insecure: bool,
}

impl Default for SignInArgs {
    /// As if no flag and no variable were given.
    fn default() -> Self {
        SignInArgs {
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_redirect_url: None,
            oidc_audience: None,
            oidc_scopes: "openid profile".into(),
            oidc_clients_claim: "eda_clients".into(),
            oidc_roles_claim: "realm_access.roles".into(),
            oidc_operator_role: "operator".into(),
            oidc_jwks_min_refresh: Duration::from_secs(10),
            session_key: None,
            session_ttl: Duration::from_secs(8 * 3600),
            session_cookie_insecure: false,
        }
    }
}
