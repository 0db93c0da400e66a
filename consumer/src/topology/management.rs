//! The RabbitMQ management API, read only: what AMQP 0-9-1 cannot show (an existing queue's
//! arguments and type, the queues of a vhost, policies, the broker's version).

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A client of one broker's management API, for one vhost.
#[derive(Debug)]
pub struct Management {
    client: reqwest::Client,
    base: reqwest::Url,
    user: String,
    password: SecretString,
    vhost: String,
}

/// An exchange or queue as the API shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Found {
    /// Exchange type, or queue type (`classic`, `quorum`, `stream`).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub durable: bool,
    #[serde(default)]
    pub arguments: Map<String, Value>,
}

/// A policy of the vhost.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicyFound {
    pub name: String,
    pub pattern: String,
    #[serde(rename = "apply-to")]
    pub apply_to: String,
    #[serde(default)]
    pub priority: i64,
    #[serde(default)]
    pub definition: Map<String, Value>,
}

/// A binding as the API shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct BindingFound {
    #[serde(default)]
    pub routing_key: String,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

impl Management {
    /// `url` may carry credentials; without them, those of the AMQP URL are used.
    pub fn new(url: &SecretString, amqp_url: &SecretString) -> Result<Management> {
        let fail = |reason: String| Error::Management {
            url: eda_common::config::redact_url(url.expose_secret()),
            reason,
            retry_helps: false,
        };
        let mut base = reqwest::Url::parse(url.expose_secret()).map_err(|e| fail(e.to_string()))?;
        if base.scheme() != "http" {
            return Err(fail(format!("scheme {:?} is not supported: use http", base.scheme())));
        }
        let amqp = url::Url::parse(amqp_url.expose_secret()).ok();
        let (mut user, mut password) = (base.username().to_owned(), base.password().map(str::to_owned));
        if user.is_empty() {
            user = amqp
                .as_ref()
                .map(|u| u.username().to_owned())
                .filter(|u| !u.is_empty())
                .unwrap_or("guest".into());
            password = amqp.as_ref().and_then(|u| u.password().map(str::to_owned)).or(Some("guest".into()));
        }
        let decode = |s: &str| percent_decode(s);
        let (user, password) = (decode(&user), decode(&password.unwrap_or_default()));
        let _ = base.set_username("");
        let _ = base.set_password(None);
        let vhost = amqp
            .map(|u| u.path().trim_start_matches('/').to_owned())
            .filter(|p| !p.is_empty())
            .map(|p| decode(&p))
            .unwrap_or_else(|| "/".into());
        let client = reqwest::Client::builder().timeout(TIMEOUT).build().map_err(|e| fail(e.to_string()))?;
        Ok(Management { client, base, user, password: password.into(), vhost })
    }

    /// The broker's version (`rabbitmq_version` of `/api/overview`).
    pub async fn version(&self) -> Result<String> {
        let overview: Value = self.get(&["overview"]).await?.unwrap_or_default();
        Ok(overview["rabbitmq_version"].as_str().unwrap_or("unknown").to_owned())
    }

    pub async fn exchange(&self, name: &str) -> Result<Option<Found>> {
        self.get(&["exchanges", &self.vhost, name]).await
    }

    pub async fn queue(&self, name: &str) -> Result<Option<Found>> {
        self.get(&["queues", &self.vhost, name]).await
    }

    /// The names of every queue of the vhost.
    pub async fn queue_names(&self) -> Result<Vec<String>> {
        let named: Vec<Named> = self.get(&["queues", &self.vhost]).await?.unwrap_or_default();
        Ok(named.into_iter().map(|n| n.name).collect())
    }

    /// The bindings from `exchange` to `queue`.
    pub async fn bindings(&self, exchange: &str, queue: &str) -> Result<Vec<BindingFound>> {
        Ok(self.get(&["bindings", &self.vhost, "e", exchange, "q", queue]).await?.unwrap_or_default())
    }

    pub async fn policies(&self) -> Result<Vec<PolicyFound>> {
        Ok(self.get(&["policies", &self.vhost]).await?.unwrap_or_default())
    }

    /// `GET /api/<segments…>`, each segment percent-encoded; `None` on 404.
    async fn get<T: for<'de> Deserialize<'de>>(&self, segments: &[&str]) -> Result<Option<T>> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| self.error("the URL cannot take a path".into(), false))?
            .pop_if_empty()
            .push("api")
            .extend(segments);
        let response = self
            .client
            .get(url.clone())
            .basic_auth(&self.user, Some(self.password.expose_secret()))
            .send()
            .await
            .map_err(|e| self.error(format!("GET {}: {e}", url.path()), true))?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(self.error(
                format!("GET {}: {} (the user needs the monitoring tag)", url.path(), response.status()),
                false,
            )),
            status if !status.is_success() => {
                Err(self.error(format!("GET {}: {status}", url.path()), status.is_server_error()))
            }
            _ => response
                .json()
                .await
                .map(Some)
                .map_err(|e| self.error(format!("GET {}: not the JSON expected: {e}", url.path()), false)),
        }
    }

    fn error(&self, reason: String, retry_helps: bool) -> Error {
        Error::Management { url: self.base.to_string(), reason, retry_helps }
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}
