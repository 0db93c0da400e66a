//! Who a request acts for and for which clients: an [`Identity`] with its [`Grant`]. Basic
//! auth, static API tokens and `--insecure-no-auth` act for every client (an operator's
//! credential); an OpenID Connect identity for the clients its claims name, or every client
//! when it holds the operator role ([`ClaimRules`]).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;

/// The clients a request may order, cancel and watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// An operator: every client.
    Every,
    /// A buyer: these clients only.
    Clients(BTreeSet<String>),
}

impl Grant {
    /// Whether the grant covers `client`.
    pub fn covers(&self, client: &str) -> bool {
        match self {
            Grant::Every => true,
            Grant::Clients(clients) => clients.contains(client),
        }
    }

    /// The clients a listing is narrowed to, or `None` for every client.
    pub fn clients(&self) -> Option<&BTreeSet<String>> {
        match self {
            Grant::Every => None,
            Grant::Clients(clients) => Some(clients),
        }
    }
}

/// The person or machine behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Shown in the portal's header and in refusals' logs: a login, a subject, never a secret.
    pub name: String,
    pub grant: Grant,
    /// The CSRF token of an OpenID Connect portal session, which its forms must carry.
    pub csrf: Option<String>,
}

impl Identity {
    /// An operator's credential: basic auth, a static token, or no authentication at all.
    pub fn operator(name: &str) -> Identity {
        Identity { name: name.to_owned(), grant: Grant::Every, csrf: None }
    }

    /// `Ok` when this identity may act for `client`, else the 403 that says so (and a log line
    /// naming who was refused, never their credential).
    pub fn may_act_for(&self, client: &str) -> Result<(), ApiError> {
        if self.grant.covers(client) {
            return Ok(());
        }
        tracing::warn!(identity = %self.name, client = %client, "refused: not granted this client");
        Err(ApiError::Forbidden(format!("you may not act for client {client:?}")))
    }
}

/// Which claims of a token say what it may do (`PRODUCER_OIDC_CLIENTS_CLAIM`,
/// `PRODUCER_OIDC_ROLES_CLAIM`, `PRODUCER_OIDC_OPERATOR_ROLE`). A claim name may be a dotted
/// path into nested objects (Keycloak's `realm_access.roles`).
#[derive(Debug, Clone)]
pub struct ClaimRules {
    pub clients_claim: String,
    pub roles_claim: String,
    pub operator_role: String,
}

impl ClaimRules {
    /// The grant the claims of a verified token give: every client for the operator role,
    /// else the clients named (a group path such as `/clients/acme` counts as its last segment).
    pub fn grant(&self, claims: &Value) -> Grant {
        if strings(claims, &self.roles_claim).iter().any(|r| r == &self.operator_role) {
            return Grant::Every;
        }
        let clients = strings(claims, &self.clients_claim)
            .into_iter()
            .filter_map(|c| c.rsplit('/').next().map(str::to_owned))
            .filter(|c| !c.is_empty())
            .collect();
        Grant::Clients(clients)
    }

    /// The identity of verified claims: named by `preferred_username`, else `sub`.
    pub fn identity(&self, claims: &Value) -> Identity {
        let name = ["preferred_username", "sub", "client_id"]
            .iter()
            .find_map(|k| claims.get(*k).and_then(Value::as_str))
            .unwrap_or("unnamed")
            .to_owned();
        Identity { name, grant: self.grant(claims), csrf: None }
    }
}

/// The strings at a dotted `path` of `claims`: a list of strings, or one string (which may
/// hold several, separated by spaces or commas).
fn strings(claims: &Value, path: &str) -> Vec<String> {
    let found = path.split('.').try_fold(claims, |at, key| at.get(key));
    match found {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(text)) => {
            text.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules() -> ClaimRules {
        ClaimRules {
            clients_claim: "eda_clients".into(),
            roles_claim: "realm_access.roles".into(),
            operator_role: "operator".into(),
        }
    }

    #[test]
    fn the_operator_role_grants_every_client_and_otherwise_the_named_ones() {
        let operator = json!({"sub": "o", "realm_access": {"roles": ["x", "operator"]}});
        assert_eq!(rules().grant(&operator), Grant::Every);
        let buyer = json!({"sub": "b", "eda_clients": ["acme", "/clients/beta", ""], "roles": ["operator"]});
        let grant = rules().grant(&buyer);
        assert!(grant.covers("acme") && grant.covers("beta"));
        assert!(!grant.covers("other"), "a top-level `roles` is not the configured claim");
        let spaced = json!({"eda_clients": "acme beta"});
        assert_eq!(rules().grant(&spaced).clients().unwrap().len(), 2);
        assert_eq!(rules().grant(&json!({})), Grant::Clients(BTreeSet::new()));
    }

    #[test]
    fn a_buyer_is_refused_another_client_with_403() {
        let identity = rules().identity(&json!({"preferred_username": "ann", "eda_clients": ["acme"]}));
        assert_eq!(identity.name, "ann");
        assert!(identity.may_act_for("acme").is_ok());
        let refused = identity.may_act_for("other").unwrap_err();
        assert_eq!(refused.status(), axum::http::StatusCode::FORBIDDEN);
    }
}
