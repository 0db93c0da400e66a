//! The provisioner's tenant-database flags: the platform PostgreSQL's admin URL (a secret),
//! where tenants' pods reach it, and what their NetworkPolicy lets through to it.

use std::net::IpAddr;

use secrecy::SecretString;

/// `--tenant-database-*` (flattened into the provisioner's `Config`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TenantDatabaseArgs {
    /// Admin URL of the PostgreSQL that holds tenants' databases; a role that may create roles
    /// and databases (`PROVISIONER_TENANT_DATABASE_URL`; default none: a product with a
    /// `database:` then fails its orders). Never logged.
    #[arg(long = "tenant-database-url", env = "PROVISIONER_TENANT_DATABASE_URL", hide_env_values = true)]
    pub url: Option<SecretString>,

    /// The database's host as tenants' pods reach it, written into their Secrets
    /// (`PROVISIONER_TENANT_DATABASE_HOST`; default the admin URL's host).
    #[arg(long = "tenant-database-host", env = "PROVISIONER_TENANT_DATABASE_HOST")]
    pub host: Option<String>,

    /// The database's port as tenants' pods reach it (`PROVISIONER_TENANT_DATABASE_PORT`;
    /// default the admin URL's port, else 5432).
    #[arg(long = "tenant-database-port", env = "PROVISIONER_TENANT_DATABASE_PORT")]
    pub port: Option<u16>,

    /// Where tenants' NetworkPolicy lets pods reach the database, as a CIDR
    /// (`PROVISIONER_TENANT_DATABASE_CIDR`; default the host's address when it is an IP).
    #[arg(long = "tenant-database-cidr", env = "PROVISIONER_TENANT_DATABASE_CIDR")]
    pub cidr: Option<String>,

    /// Or as the labels of the namespace the database runs in, `key=value,…`
    /// (`PROVISIONER_TENANT_DATABASE_NAMESPACE_LABELS`).
    #[arg(long = "tenant-database-namespace-labels", env = "PROVISIONER_TENANT_DATABASE_NAMESPACE_LABELS")]
    pub namespace_labels: Option<String>,

    /// And the labels of its pods, `key=value,…` (`PROVISIONER_TENANT_DATABASE_POD_LABELS`).
    #[arg(long = "tenant-database-pod-labels", env = "PROVISIONER_TENANT_DATABASE_POD_LABELS")]
    pub pod_labels: Option<String>,
}

/// Where a tenant's pods may open connections to the database (a NetworkPolicy cannot name a
/// DNS host): an address block, or namespace and pod labels; and the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseEgress {
    pub cidr: Option<String>,
    pub namespace_labels: Option<Vec<(String, String)>>,
    pub pod_labels: Option<Vec<(String, String)>>,
    pub port: u16,
}

impl TenantDatabaseArgs {
    /// The egress the flags describe for a database at `host:port`; `None` when they describe
    /// none and the host is a name (the log at start says so). Errors name the flag.
    pub fn egress(&self, host: &str, port: u16) -> Result<Option<DatabaseEgress>, String> {
        let labels =
            |flag: &str, value: &Option<String>| value.as_deref().map(|v| parse_labels(flag, v)).transpose();
        let namespace_labels = labels("--tenant-database-namespace-labels", &self.namespace_labels)?;
        let pod_labels = labels("--tenant-database-pod-labels", &self.pod_labels)?;
        if let Some(cidr) = &self.cidr {
            check_cidr(cidr)?;
        }
        let cidr = self.cidr.clone().or_else(|| match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => Some(format!("{ip}/32")),
            Ok(IpAddr::V6(ip)) => Some(format!("{ip}/128")),
            Err(_) => None,
        });
        if cidr.is_none() && namespace_labels.is_none() && pod_labels.is_none() {
            return Ok(None);
        }
        Ok(Some(DatabaseEgress { cidr, namespace_labels, pod_labels, port }))
    }
}

fn parse_labels(flag: &str, value: &str) -> Result<Vec<(String, String)>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
            _ => Err(format!("{flag}: `{pair}` is not key=value")),
        })
        .collect()
}

fn check_cidr(cidr: &str) -> Result<(), String> {
    let bad = || format!("--tenant-database-cidr: `{cidr}` is not an address block such as 10.0.0.0/8");
    let (ip, bits) = cidr.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = ip.parse().map_err(|_| bad())?;
    let bits: u8 = bits.parse().map_err(|_| bad())?;
    if bits > if ip.is_ipv4() { 32 } else { 128 } {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_host_needs_no_flag_and_a_name_needs_one() {
        let none = TenantDatabaseArgs::default();
        let egress = none.egress("10.1.2.3", 5432).unwrap().unwrap();
        assert_eq!(egress.cidr.as_deref(), Some("10.1.2.3/32"));
        assert_eq!(egress.port, 5432);
        assert_eq!(none.egress("postgres.platform", 5432).unwrap(), None);
        let labels = TenantDatabaseArgs {
            namespace_labels: Some("kubernetes.io/metadata.name=platform".into()),
            pod_labels: Some("app=postgres, tier = db".into()),
            ..Default::default()
        };
        let egress = labels.egress("postgres.platform", 6432).unwrap().unwrap();
        assert_eq!(egress.cidr, None);
        assert_eq!(
            egress.pod_labels.unwrap(),
            [("app".into(), "postgres".into()), ("tier".into(), "db".into())]
        );
    }

    #[test]
    fn a_bad_cidr_or_label_names_the_flag() {
        let args = TenantDatabaseArgs { cidr: Some("10.0.0.0/33".into()), ..Default::default() };
        assert!(args.egress("h", 1).unwrap_err().starts_with("--tenant-database-cidr"));
        let args = TenantDatabaseArgs { pod_labels: Some("app".into()), ..Default::default() };
        assert!(args.egress("h", 1).unwrap_err().starts_with("--tenant-database-pod-labels"));
    }
}
