//! The tenant database (DESIGN.md §9): for a product with `database:`, a PostgreSQL role and a
//! database it owns, on the platform's server, and `Secret <release>-database` in the tenant
//! namespace. Idempotent like every reconciler step: the Secret is written first and is the
//! source of truth, so a re-run (a resync, a replay, a failover) reads the password and never
//! rotates it; what a crash left half done is finished by the next pass.

mod names;
mod password;
mod secret;
mod settings;

use std::str::FromStr;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, PostParams};
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

pub use names::identifier;
pub use secret::secret_name;
pub use settings::{DatabaseEgress, TenantDatabaseArgs};

use crate::catalog::DatabaseSpec;
use crate::error::{Error, Result};
use crate::order::Tenant;
use names::{literal, quoted};
use secret::{password_of, secret_for, Credentials};

/// A tenant's database, ready: what `provisioned` and the Tenant's status say (never the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseReady {
    pub dbname: String,
    pub secret: String,
}

/// The platform PostgreSQL as the provisioner administers it, and as tenants reach it.
#[derive(Clone)]
pub struct TenantDatabases {
    /// `None` without `PROVISIONER_TENANT_DATABASE_URL`.
    admin: Option<PgPool>,
    host: String,
    port: u16,
    egress: Option<DatabaseEgress>,
}

impl std::fmt::Debug for TenantDatabases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the admin URL: it holds a password.
        f.debug_struct("TenantDatabases")
            .field("configured", &self.admin.is_some())
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl TenantDatabases {
    /// None configured: a product that asks for a database fails with the reason.
    pub fn unconfigured() -> Self {
        TenantDatabases { admin: None, host: String::new(), port: 5432, egress: None }
    }

    /// From the flags; connects lazily (a database that is down at start only delays orders).
    pub fn from_args(args: &TenantDatabaseArgs) -> std::result::Result<Self, String> {
        let Some(url) = &args.url else { return Ok(Self::unconfigured()) };
        let text = url.expose_secret();
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Err("PROVISIONER_TENANT_DATABASE_URL is not a PostgreSQL URL: it must start with postgres:// or postgresql://".into());
        }
        let options = PgConnectOptions::from_str(text).map_err(|e| {
            // sqlx's message never repeats the URL.
            format!("PROVISIONER_TENANT_DATABASE_URL is not a PostgreSQL URL: {e}")
        })?;
        let host = args.host.clone().unwrap_or_else(|| options.get_host().to_string());
        let port = args.port.unwrap_or_else(|| options.get_port());
        let egress = args.egress(&host, port)?;
        if egress.is_none() {
            tracing::warn!(%host, "tenant database host is a name and no --tenant-database-cidr or \
                -namespace-labels/-pod-labels is set: tenants' NetworkPolicy lets no pod reach it");
        }
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_lazy_with(options.application_name("eda-provisioner"));
        Ok(TenantDatabases { admin: Some(pool), host, port, egress })
    }

    /// What tenants' NetworkPolicy lets through to the database, when known.
    pub fn egress(&self) -> Option<&DatabaseEgress> {
        self.egress.as_ref()
    }

    /// The role, its database and the Secret, as `spec` says; the Secret first.
    pub async fn ensure(
        &self,
        kube: &kube::Client,
        tenant: &Tenant,
        spec: &DatabaseSpec,
    ) -> Result<DatabaseReady> {
        let admin = self.admin(tenant)?;
        let name = identifier(&tenant.namespace, &tenant.release).map_err(Error::Config)?;
        let secrets = Api::<Secret>::namespaced(kube.clone(), &tenant.namespace);
        let secret = secret_name(&tenant.release);
        let found =
            secrets.get_opt(&secret).await.map_err(|e| Error::kube(format!("get Secret {secret}"), e))?;
        let (password, new_secret) = match found.as_ref().and_then(password_of) {
            Some(password) => (password, false),
            None => {
                let password = password::generate().map_err(Error::Config)?;
                let c = Credentials {
                    host: &self.host,
                    port: self.port,
                    dbname: &name,
                    username: &name,
                    password: &password,
                };
                let object = secret_for(tenant, &c);
                let written = match found {
                    // A Secret without a password (edited by hand): made whole again.
                    Some(_) => secrets.replace(&secret, &PostParams::default(), &object).await,
                    None => secrets.create(&PostParams::default(), &object).await,
                };
                match written {
                    Ok(_) => (password, true),
                    // Another replica wrote it first: its password is the one.
                    Err(kube::Error::Api(s)) if s.code == 409 => {
                        return Err(Error::Conflict { what: format!("Secret {secret}"), attempts: 1 })
                    }
                    Err(e) => return Err(Error::kube(format!("write Secret {secret}"), e)),
                }
            }
        };
        self.ensure_role(admin, &name, &password, new_secret, spec.connection_limit).await?;
        self.ensure_database(admin, &name).await?;
        Ok(DatabaseReady { dbname: name, secret })
    }

    /// Drops the database and the role, and deletes the Secret unless the namespace goes anyway.
    pub async fn drop(&self, kube: &kube::Client, tenant: &Tenant, delete_secret: bool) -> Result<()> {
        let admin = self.admin(tenant)?;
        let name = identifier(&tenant.namespace, &tenant.release).map_err(Error::Config)?;
        // FORCE ends the tenant's own sessions (its pods are uninstalled by now; a straggler).
        execute(admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quoted(&name)), "drop database")
            .await?;
        execute(admin, &format!("DROP ROLE IF EXISTS {}", quoted(&name)), "drop role").await?;
        if delete_secret {
            let secret = secret_name(&tenant.release);
            let secrets = Api::<Secret>::namespaced(kube.clone(), &tenant.namespace);
            match secrets.delete(&secret, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(Error::kube(format!("delete Secret {secret}"), e)),
            }
        }
        tracing::info!(namespace = %tenant.namespace, release = %tenant.release, database = %name,
            "tenant database dropped");
        Ok(())
    }

    /// An error naming the missing flag unless a database is configured.
    pub fn check_configured(&self, tenant: &Tenant) -> Result<()> {
        self.admin(tenant).map(drop)
    }

    fn admin(&self, tenant: &Tenant) -> Result<&PgPool> {
        self.admin.as_ref().ok_or_else(|| {
            Error::Config(format!(
                "product `{}` asks for a database, but PROVISIONER_TENANT_DATABASE_URL is not set",
                tenant.product
            ))
        })
    }

    /// Creates the role with the Secret's password, or, for a role that exists, sets the
    /// password only when the Secret is new (a Secret lost: its successor's password) and the
    /// connection limit when it differs.
    async fn ensure_role(
        &self,
        admin: &PgPool,
        name: &str,
        password: &SecretString,
        new_secret: bool,
        limit: u32,
    ) -> Result<()> {
        let existing: Option<i32> =
            sqlx::query_scalar("SELECT rolconnlimit FROM pg_roles WHERE rolname = $1")
                .bind(name)
                .fetch_optional(admin)
                .await
                .map_err(|e| Error::database("look the tenant's role up", e))?;
        let verifier = || password::scram_verifier(password).map_err(Error::Config);
        let role = quoted(name);
        match existing {
            // INHERIT (the default): PostgreSQL 15 gives the `public` schema to
            // `pg_database_owner`, whose rights a NOINHERIT owner would not have.
            None => {
                let sql = format!(
                    "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE CONNECTION LIMIT {limit} PASSWORD {}",
                    literal(&verifier()?)
                );
                // Created meanwhile by another replica: a transient error; the next pass finds it.
                execute(admin, &sql, "create role").await?;
                tracing::info!(role = %name, limit, "tenant role created");
            }
            Some(current) => {
                if new_secret {
                    execute(
                        admin,
                        &format!("ALTER ROLE {role} PASSWORD {}", literal(&verifier()?)),
                        "set role password",
                    )
                    .await?;
                    tracing::warn!(role = %name, "tenant role existed without its Secret: password set to the new Secret's");
                }
                if i64::from(current) != i64::from(limit) {
                    execute(
                        admin,
                        &format!("ALTER ROLE {role} CONNECTION LIMIT {limit}"),
                        "set connection limit",
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Creates the database owned by the role, closed to everyone else.
    async fn ensure_database(&self, admin: &PgPool, name: &str) -> Result<()> {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(admin)
            .await
            .map_err(|e| Error::database("look the tenant's database up", e))?;
        let db = quoted(name);
        if !exists {
            execute(admin, &format!("CREATE DATABASE {db} OWNER {db}"), "create database").await?;
            tracing::info!(database = %name, "tenant database created");
        }
        // Every pass: PUBLIC may neither connect nor create temporary tables (PostgreSQL's default grants both).
        execute(admin, &format!("REVOKE ALL ON DATABASE {db} FROM PUBLIC"), "revoke public rights").await
    }
}

async fn execute(admin: &PgPool, sql: &str, action: &'static str) -> Result<()> {
    sqlx::raw_sql(sql).execute(admin).await.map(drop).map_err(|e| Error::database(action, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tenants_reach_the_database_where_the_flags_say_else_where_the_admin_url_points() {
        let url = |u: &str| Some(SecretString::from(u.to_string()));
        let from_url = TenantDatabases::from_args(&TenantDatabaseArgs {
            url: url("postgres://admin:s3cret@10.2.3.4:6432/postgres"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((from_url.host.as_str(), from_url.port), ("10.2.3.4", 6432));
        assert_eq!(from_url.egress().unwrap().cidr.as_deref(), Some("10.2.3.4/32"));
        let debug = format!("{from_url:?}");
        assert!(!debug.contains("s3cret") && debug.contains("configured: true"), "{debug}");

        let overridden = TenantDatabases::from_args(&TenantDatabaseArgs {
            url: url("postgres://admin@127.0.0.1/postgres"),
            host: Some("postgres.platform.svc".into()),
            port: Some(5433),
            pod_labels: Some("app=postgres".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((overridden.host.as_str(), overridden.port), ("postgres.platform.svc", 5433));
        assert_eq!(overridden.egress().unwrap().port, 5433);

        let bad =
            TenantDatabases::from_args(&TenantDatabaseArgs { url: url("mysql://x"), ..Default::default() });
        assert!(bad.unwrap_err().starts_with("PROVISIONER_TENANT_DATABASE_URL is not a PostgreSQL URL"));
    }
}
