//! `Secret <release>-database` in the tenant namespace: the tenant's credentials, and the one
//! place its password is kept (the source of truth: a re-run reads it, never rotates it).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use secrecy::{ExposeSecret, SecretString};

use crate::objects::tenant_labels;
use crate::order::Tenant;

/// The Secret's name; the release's values get only this (`database.existingSecret`).
pub fn secret_name(release: &str) -> String {
    format!("{release}-database")
}

/// What a tenant's pods need to connect.
pub struct Credentials<'a> {
    pub host: &'a str,
    pub port: u16,
    pub dbname: &'a str,
    pub username: &'a str,
    pub password: &'a SecretString,
}

/// The Secret with `host`, `port`, `dbname`, `username`, `password` and `url`.
pub fn secret_for(tenant: &Tenant, c: &Credentials<'_>) -> Secret {
    let password = c.password.expose_secret();
    let url =
        format!("postgresql://{}:{password}@{}:{}/{}", c.username, host_in_url(c.host), c.port, c.dbname);
    let data = [
        ("host", c.host.to_string()),
        ("port", c.port.to_string()),
        ("dbname", c.dbname.to_string()),
        ("username", c.username.to_string()),
        ("password", password.to_string()),
        ("url", url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), ByteString(v.into_bytes())))
    .collect::<BTreeMap<_, _>>();
    Secret {
        metadata: ObjectMeta {
            name: Some(secret_name(&tenant.release)),
            namespace: Some(tenant.namespace.clone()),
            labels: Some(tenant_labels(tenant)),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Secret::default()
    }
}

/// The password a Secret holds, if it holds one.
pub fn password_of(secret: &Secret) -> Option<SecretString> {
    let bytes = secret.data.as_ref()?.get("password")?;
    let text = String::from_utf8(bytes.0.clone()).ok().filter(|p| !p.is_empty())?;
    Some(text.into())
}

/// An IPv6 address in a URL goes in brackets.
fn host_in_url(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::tests::order;

    #[test]
    fn the_secret_holds_every_key_and_its_password_reads_back() {
        let tenant = order("development", "classic").tenant;
        let password: SecretString = "p4ssw0rd".to_string().into();
        let c = Credentials {
            host: "::1",
            port: 5433,
            dbname: "cliente02_product-a",
            username: "cliente02_product-a",
            password: &password,
        };
        let secret = secret_for(&tenant, &c);
        assert_eq!(secret.metadata.name.as_deref(), Some("product-a-database"));
        assert_eq!(secret.metadata.namespace.as_deref(), Some("cliente02"));
        let data = secret.data.as_ref().unwrap();
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["dbname", "host", "password", "port", "url", "username"]);
        assert_eq!(
            data["url"].0,
            b"postgresql://cliente02_product-a:p4ssw0rd@[::1]:5433/cliente02_product-a"
        );
        assert_eq!(password_of(&secret).unwrap().expose_secret(), "p4ssw0rd");
    }
}
