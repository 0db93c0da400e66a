//! The tenants the ledger knows (`v_tenants`): one page at a time in (client, namespace,
//! release) order, optionally of one status and of clients starting with a prefix. The cursor
//! is the key of the last row shown, so a page never repeats or skips a tenant whose status
//! changes meanwhile; every form of the query reads through an index (docs/benchmarks.md).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::{Ledger, LedgerError};
use crate::error::FieldError;

/// The statuses a deployment can have (dbwriter's `deployments.status`).
pub const STATUSES: [&str; 6] =
    ["published", "provisioning", "provisioned", "failed", "cancelled", "deprovisioned"];
/// Rows per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest `limit` accepted.
pub const MAX_LIMIT: u32 = 200;
/// Longest client prefix, namespace or release in a filter or a cursor (a DNS label).
const MAX_NAME: usize = 63;

/// A validated request for one page (the `client`, `status`, `cursor` and `limit` parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantQuery {
    pub client: Option<String>,
    pub status: Option<&'static str>,
    pub after: Option<Cursor>,
    pub limit: u32,
    /// The clients the asker may see (`None`: every client); not a parameter, the asker's grant.
    pub visible: Option<Vec<String>>,
}

impl Default for TenantQuery {
    fn default() -> Self {
        TenantQuery { client: None, status: None, after: None, limit: DEFAULT_LIMIT, visible: None }
    }
}

/// The position after which a page starts: `<client>/<namespace>/<release>` of its last row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub client: String,
    pub namespace: String,
    pub release: String,
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.client, self.namespace, self.release)
    }
}

impl Cursor {
    /// Reads `client/namespace/release`, each 1–63 of `a-z 0-9 -` (the release also `.`), the
    /// pattern the OpenAPI document declares. Any such key is a position, existing or not.
    pub fn parse(text: &str) -> Result<Cursor, FieldError> {
        let bad = || {
            FieldError::new(
                "cursor",
                "cursor is not a position this API handed out (client/namespace/release); \
                 start again without it",
            )
        };
        let mut parts = text.split('/');
        let (Some(client), Some(namespace), Some(release), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if !is_name(client, false) || !is_name(namespace, false) || !is_name(release, true) {
            return Err(bad());
        }
        Ok(Cursor { client: client.into(), namespace: namespace.into(), release: release.into() })
    }
}

/// 1–63 characters of `a-z`, `0-9`, `-` (and `.` when `dots`).
fn is_name(text: &str, dots: bool) -> bool {
    (1..=MAX_NAME).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (dots && b == b'.'))
}

impl TenantQuery {
    /// The query string of `GET /tenants` or `GET /api/v1/tenants`; a bad value is refused
    /// naming its parameter. Unknown parameters are ignored; a known one given twice is refused.
    pub fn from_query(raw: Option<&str>) -> Result<TenantQuery, FieldError> {
        let mut query = TenantQuery::default();
        let mut seen = Vec::new();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let key = key.as_ref();
            if !matches!(key, "client" | "status" | "cursor" | "limit") {
                continue;
            }
            if seen.contains(&key.to_owned()) {
                return Err(FieldError::new(key, format!("{key} is given more than once")));
            }
            seen.push(key.to_owned());
            match key {
                "client" => {
                    if !is_name(&value, false) {
                        return Err(FieldError::new(
                            "client",
                            "client must be the start of a client name: 1-63 of a-z, 0-9 and -",
                        ));
                    }
                    query.client = Some(value.into_owned());
                }
                "status" => {
                    let status = STATUSES.iter().find(|s| **s == value).ok_or_else(|| {
                        FieldError::new("status", format!("status must be one of {}", STATUSES.join(", ")))
                    })?;
                    query.status = Some(status);
                }
                "cursor" => query.after = Some(Cursor::parse(&value)?),
                _ => {
                    // A JSON Schema integer may be written 50.0.
                    let whole = value.parse::<f64>().ok().filter(|n| n.fract() == 0.0);
                    let limit = whole.filter(|n| (1.0..=f64::from(MAX_LIMIT)).contains(n)).map(|n| n as u32);
                    query.limit = limit.ok_or_else(|| {
                        FieldError::new(
                            "limit",
                            format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                        )
                    })?;
                }
            }
        }
        Ok(query)
    }

    /// The query string that asks for the page after `cursor` with the same filters.
    pub fn next_page(&self, cursor: &str) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if let Some(client) = &self.client {
            out.append_pair("client", client);
        }
        if let Some(status) = self.status {
            out.append_pair("status", status);
        }
        if self.limit != DEFAULT_LIMIT {
            out.append_pair("limit", &self.limit.to_string());
        }
        out.append_pair("cursor", cursor);
        out.finish()
    }
}

/// One tenant as the page and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tenant {
    pub client: String,
    pub namespace: String,
    pub release: String,
    pub product: Option<String>,
    pub environment: Option<String>,
    /// The hardware tier the current purchase asked for (null if its purchase was never stored).
    pub hardware: Option<String>,
    pub status: String,
    /// The trace of the event that set the status.
    pub trace_id: Uuid,
    /// That event's time.
    pub updated_at: DateTime<Utc>,
}

impl Tenant {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            client: self.client.clone(),
            namespace: self.namespace.clone(),
            release: self.release.clone(),
        }
    }
}

/// A page and the cursor of the next one (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantPage {
    pub tenants: Vec<Tenant>,
    pub next_cursor: Option<String>,
}

impl Ledger {
    /// One page of tenants for `query`.
    pub async fn tenants(&self, query: &TenantQuery) -> Result<TenantPage, LedgerError> {
        let mut sql = page_sql(query);
        let rows = sql.build().fetch_all(self.pool()).await?;
        let mut tenants = rows
            .iter()
            .map(|row| {
                Ok(Tenant {
                    client: row.try_get("client")?,
                    namespace: row.try_get("namespace")?,
                    release: row.try_get("release")?,
                    product: row.try_get("product")?,
                    environment: row.try_get("environment")?,
                    hardware: row.try_get("hardware")?,
                    status: row.try_get("status")?,
                    trace_id: row.try_get("trace_id")?,
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        // One row more than the page was read: whether it exists says whether a next page does.
        let more = tenants.len() > query.limit as usize;
        tenants.truncate(query.limit as usize);
        let next_cursor = more.then(|| tenants.last().map(|t| t.cursor().to_string())).flatten();
        Ok(TenantPage { tenants, next_cursor })
    }
}

/// The statement for `query`: only the conditions it uses, so the planner sees plain ranges on
/// the page index (`deployments_tenant_page_idx`, or `deployments_tenant_status_page_idx` with a
/// status), and a client prefix as a range, never a pattern.
pub fn page_sql(query: &TenantQuery) -> QueryBuilder<'static, Postgres> {
    let mut sql = QueryBuilder::new(
        "SELECT client, namespace, release, product, environment, hardware, status, trace_id, updated_at \
         FROM v_tenants WHERE true",
    );
    if let Some(status) = query.status {
        sql.push(" AND status = ").push_bind(status);
    }
    if let Some(prefix) = &query.client {
        // Client names are DNS labels: every one starting with the prefix sorts below prefix + '~'.
        sql.push(" AND client >= ").push_bind(prefix.clone());
        sql.push(" AND client < ").push_bind(format!("{prefix}~"));
    }
    if let Some(visible) = &query.visible {
        sql.push(" AND client = ANY(").push_bind(visible.clone()).push(")");
    }
    if let Some(after) = &query.after {
        sql.push(" AND (client, namespace, release) > (")
            .push_bind(after.client.clone())
            .push(", ")
            .push_bind(after.namespace.clone())
            .push(", ")
            .push_bind(after.release.clone())
            .push(")");
    }
    sql.push(" ORDER BY client, namespace, release LIMIT ").push_bind(i64::from(query.limit) + 1);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_string_reads_into_filters_and_a_cursor() {
        let q =
            TenantQuery::from_query(Some("client=acme&status=failed&cursor=acme%2Facme%2Fproduct-a&limit=5"))
                .unwrap();
        assert_eq!(q.client.as_deref(), Some("acme"));
        assert_eq!(q.status, Some("failed"));
        assert_eq!(q.after.as_ref().unwrap().to_string(), "acme/acme/product-a");
        assert_eq!(q.limit, 5);
        assert_eq!(TenantQuery::from_query(None).unwrap(), TenantQuery::default());
        assert_eq!(q.next_page("b/b/c"), "client=acme&status=failed&limit=5&cursor=b%2Fb%2Fc");
    }

    #[test]
    fn bad_values_are_refused_naming_their_parameter() {
        for (raw, field) in [
            ("status=sleeping", "status"),
            ("status=", "status"),
            ("cursor=garbage", "cursor"),
            ("cursor=a/b/c/d", "cursor"),
            ("cursor=A/b/c", "cursor"),
            ("client=", "client"),
            ("client=Acme", "client"),
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("limit=x", "limit"),
            ("status=failed&status=failed", "status"),
        ] {
            let error = TenantQuery::from_query(Some(raw)).unwrap_err();
            assert_eq!(error.field, field, "{raw}: {}", error.error);
        }
    }

    #[test]
    fn the_statement_holds_only_the_conditions_asked_for() {
        assert_eq!(
            page_sql(&TenantQuery::default()).sql(),
            "SELECT client, namespace, release, product, environment, hardware, status, trace_id, updated_at \
             FROM v_tenants WHERE true ORDER BY client, namespace, release LIMIT $1"
        );
        let q = TenantQuery::from_query(Some("client=a&status=failed&cursor=a/a/b")).unwrap();
        let sql = page_sql(&q).into_sql();
        assert!(sql.contains(
            "status = $1 AND client >= $2 AND client < $3 AND (client, namespace, release) > ($4, $5, $6)"
        ), "{sql}");
    }
}
