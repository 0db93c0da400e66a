//! Settings every service shares, parsed once by clap with environment fallbacks.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::retry::RetryPolicy;
use crate::telemetry::LogFormat;
use crate::topology::QueueType;

/// The default broker, as DESIGN.md §6 gives it.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Flags and variables shared by every eda binary (`#[command(flatten)]` them).
#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// Broker URL (`AMQP_URL`; default `amqp://guest:guest@127.0.0.1:5672/%2f`), or several
    /// comma-separated (the nodes of a cluster), tried in turn on connect and reconnect. When
    /// unset, the legacy `mqtthost`, `mqttport`, `mqttvhost`, `mqttuser`, `mqttpass` are honoured.
    #[arg(long = "amqp-url", env = "AMQP_URL", hide_env_values = true)]
    pub amqp_url: Option<SecretString>,

    /// Prefix of every exchange and queue name (`EDA_PREFIX`).
    #[arg(long, env = "EDA_PREFIX", default_value = "eda")]
    pub prefix: String,

    /// Company segment of the event types this service publishes (`EDA_COMPANY`).
    #[arg(long, env = "EDA_COMPANY", default_value = "mycompany")]
    pub company: String,

    /// Type of the queues this service declares (`EDA_QUEUE_TYPE`: quorum or classic).
    #[arg(long, env = "EDA_QUEUE_TYPE", value_enum, default_value = "quorum")]
    pub queue_type: QueueType,

    /// Replicas of each quorum queue eda creates (`EDA_QUORUM_SIZE`, declared as
    /// `x-quorum-initial-group-size`; default the broker's: every cluster node). Only a new
    /// queue takes it: an existing queue keeps its replicas and the difference is reported.
    #[arg(long, env = "EDA_QUORUM_SIZE", value_parser = clap::value_parser!(u16).range(1..))]
    pub quorum_size: Option<u16>,

    /// Deliveries of a transiently failing message before it is dead-lettered (`EDA_MAX_RETRIES`).
    #[arg(long, env = "EDA_MAX_RETRIES", default_value_t = 5)]
    pub max_retries: u32,

    /// Backoff per retry level, the last repeating (`EDA_RETRY_DELAYS`).
    #[arg(long, env = "EDA_RETRY_DELAYS", default_value = "1s,5s,30s,2m,10m", value_parser = parse_delays)]
    pub retry_delays: Delays,

    /// Unacknowledged deliveries the broker may push to this service at once (`EDA_PREFETCH`).
    #[arg(long, env = "EDA_PREFETCH", default_value_t = 100)]
    pub prefetch: u16,

    /// AMQP heartbeat in seconds, so a silent network drop is noticed quickly (`EDA_HEARTBEAT`).
    #[arg(long, env = "EDA_HEARTBEAT", default_value_t = 10)]
    pub heartbeat: u16,

    /// Log format on stdout (`LOG_FORMAT`: json or pretty). Levels come from `RUST_LOG`.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "json")]
    pub log_format: LogFormat,

    /// Address of `/healthz`, `/readyz` and `/metrics` (`HTTP_ADDR`; each service has its own default).
    #[arg(long, env = "HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,
}

/// Retry delays parsed from a comma-separated list such as `1s,5s,30s,2m,10m`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delays(pub Vec<Duration>);

impl CommonArgs {
    /// Defaults as if no flag and no variable were given; what tests start from.
    pub fn for_prefix(prefix: &str) -> Self {
        CommonArgs {
            amqp_url: None,
            prefix: prefix.to_owned(),
            company: "mycompany".into(),
            queue_type: QueueType::Quorum,
            quorum_size: None,
            max_retries: 5,
            retry_delays: parse_delays("1s,5s,30s,2m,10m").expect("default delays parse"),
            prefetch: 100,
            heartbeat: 10,
            log_format: LogFormat::Json,
            http_addr: None,
        }
    }

    /// The brokers, in the order they are tried: `AMQP_URL` (comma-separated), else one URL
    /// built from the legacy `mqtt*` variables, else the default. Never empty.
    pub fn amqp_urls(&self) -> Vec<SecretString> {
        let configured = match &self.amqp_url {
            Some(url) => split_urls(url.expose_secret()),
            None => Vec::new(),
        };
        if !configured.is_empty() {
            return configured;
        }
        vec![legacy_amqp_url(|k| std::env::var(k).ok()).unwrap_or_else(|| DEFAULT_AMQP_URL.into())]
    }

    /// The first broker, for tools that talk to one (the topology preflight, say).
    pub fn amqp_url(&self) -> SecretString {
        self.amqp_urls().swap_remove(0)
    }

    /// Every broker URL with its password replaced, comma-separated, safe to log.
    pub fn amqp_url_redacted(&self) -> String {
        redact_urls(&self.amqp_urls()).join(",")
    }

    /// The retry policy these settings describe.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::new(self.max_retries, self.retry_delays.0.clone())
    }

    /// `HTTP_ADDR`, or `0.0.0.0:<default_port>`.
    pub fn http_addr_or(&self, default_port: u16) -> SocketAddr {
        self.http_addr.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], default_port)))
    }
}

/// Builds `amqp://user:pass@host:port/vhost` from the proof of concept's variables, if any is set.
pub fn legacy_amqp_url(var: impl Fn(&str) -> Option<String>) -> Option<SecretString> {
    let host = var("mqtthost");
    let port = var("mqttport");
    let vhost = var("mqttvhost");
    let user = var("mqttuser");
    let pass = var("mqttpass");
    if host.is_none() && port.is_none() && vhost.is_none() && user.is_none() && pass.is_none() {
        return None;
    }
    let mut url = url::Url::parse("amqp://127.0.0.1:5672/").expect("static URL parses");
    if let Some(host) = host {
        let _ = url.set_host(Some(&host));
    }
    if let Some(port) = port.and_then(|p| p.parse::<u16>().ok()) {
        let _ = url.set_port(Some(port));
    }
    let _ = url.set_username(user.as_deref().unwrap_or("guest"));
    let _ = url.set_password(Some(pass.as_deref().unwrap_or("guest")));
    let vhost = vhost.unwrap_or_else(|| "/".into());
    let encoded: String = url::form_urlencoded::byte_serialize(vhost.as_bytes()).collect();
    let mut s = url.to_string();
    s.truncate(s.trim_end_matches('/').len());
    Some(format!("{s}/{}", encoded.replace('+', "%20")).into())
}

/// The URLs of a comma-separated list, blanks dropped (a comma inside a password is `%2C`).
pub fn split_urls(list: &str) -> Vec<SecretString> {
    list.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| SecretString::from(u.to_owned()))
        .collect()
}

/// Each URL with its password replaced, in order ([`redact_url`]).
pub fn redact_urls(urls: &[SecretString]) -> Vec<String> {
    urls.iter().map(|u| redact_url(u.expose_secret())).collect()
}

/// Replaces the password of a URL by `***`; a URL that does not parse is hidden whole.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<unparseable url>".into(),
    }
}

/// Parses one duration: `250ms`, `5s`, `2m`, `1h`, or bare seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a duration such as 250ms, 5s, 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{s}` is not a valid duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a comma-separated list of durations; at least one.
pub fn parse_delays(s: &str) -> Result<Delays, String> {
    let delays =
        s.split(',').filter(|p| !p.trim().is_empty()).map(parse_duration).collect::<Result<Vec<_>, _>>()?;
    if delays.is_empty() {
        return Err("at least one retry delay is needed".into());
    }
    Ok(Delays(delays))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn default_delays_are_the_designed_levels() {
        let d = parse_delays("1s,5s,30s,2m,10m").unwrap();
        assert_eq!(d.0.len(), 5);
        assert_eq!(d.0[4], Duration::from_secs(600));
        assert!(parse_delays(",").is_err());
    }

    #[test]
    fn legacy_variables_build_an_amqp_url() {
        let vars = |k: &str| match k {
            "mqtthost" => Some("rabbit.local".to_string()),
            "mqttport" => Some("5673".to_string()),
            "mqttvhost" => Some("/".to_string()),
            "mqttuser" => Some("app".to_string()),
            "mqttpass" => Some("s3cr3t".to_string()),
            _ => None,
        };
        let url = legacy_amqp_url(vars).unwrap();
        assert_eq!(url.expose_secret(), "amqp://app:s3cr3t@rabbit.local:5673/%2F");
        assert!(legacy_amqp_url(|_| None).is_none());
    }

    #[test]
    fn several_brokers_are_tried_in_the_order_given() {
        let mut args = CommonArgs::for_prefix("t");
        args.amqp_url = Some(" amqp://a:pa@n1:5672/%2f, amqp://a:pa@n2:5672/%2f,,".to_string().into());
        let urls: Vec<String> = args.amqp_urls().iter().map(|u| u.expose_secret().to_owned()).collect();
        assert_eq!(urls, ["amqp://a:pa@n1:5672/%2f", "amqp://a:pa@n2:5672/%2f"]);
        assert_eq!(args.amqp_url().expose_secret(), "amqp://a:pa@n1:5672/%2f");
        let shown = args.amqp_url_redacted();
        assert_eq!(shown, "amqp://a:***@n1:5672/%2f,amqp://a:***@n2:5672/%2f");
    }

    #[test]
    fn an_empty_broker_list_falls_back_to_one_broker() {
        let mut args = CommonArgs::for_prefix("t");
        args.amqp_url = Some(" , ".to_string().into());
        assert_eq!(args.amqp_urls().len(), 1);
    }

    #[test]
    fn redaction_hides_the_password() {
        let shown = redact_url("amqp://app:s3cr3t@rabbit.local:5672/%2f");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("app:***@rabbit.local"), "{shown}");
    }
}
