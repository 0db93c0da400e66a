//! The catalog: what each product deploys and the tenant baseline per hardware tier and environment.
//!
//! Loaded once at start from YAML (`PROVISIONER_CATALOG`, else the built-in `catalog/default.yaml`)
//! and validated: a syntax error names the line and column, a semantic error names the product
//! (or tier, or environment) and the field.

mod validate;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The catalog that ships with the repository and deploys `helm/demo-product`.
pub const BUILT_IN: &str = include_str!("../../../catalog/default.yaml");

/// Why a catalog cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the catalog {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// serde_yaml's message carries the line and column.
    #[error("catalog {origin} is not valid: {source}")]
    Syntax { origin: String, source: serde_yaml::Error },
    #[error("catalog {origin}: {problem}")]
    Invalid { origin: String, problem: String },
}

/// Products, hardware tiers and environments, by name (sorted, so output is stable).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub products: BTreeMap<String, Product>,
    pub hardware: BTreeMap<String, HardwareTier>,
    pub environments: BTreeMap<String, Environment>,
}

/// One product a client can buy: a chart and its values.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Product {
    /// Shown in the portal.
    #[serde(default)]
    pub description: String,
    pub chart: Chart,
    /// Values for every environment.
    #[serde(default = "empty_object")]
    pub values: Value,
    /// Values per environment, deep-merged over `values`.
    #[serde(default)]
    pub environments: BTreeMap<String, Value>,
    /// Hardware tiers this product may be bought with; empty means every tier.
    #[serde(default)]
    pub hardware: Vec<String>,
    /// Delete the tenant namespace on `cancelled` (default: keep it, with its data).
    #[serde(default)]
    pub delete_namespace_on_cancel: bool,
    /// A database of its own for each tenant (DESIGN.md §9); none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseSpec>,
}

/// `database:` of a product: which engine, what a cancellation does, how many connections.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatabaseSpec {
    pub engine: DatabaseEngine,
    /// What `cancelled` does to the tenant's role, database and Secret (default `retain`).
    #[serde(default)]
    pub on_cancel: OnCancel,
    /// The role's connection limit (PostgreSQL's `CONNECTION LIMIT`; default 20).
    #[serde(default = "default_connection_limit")]
    pub connection_limit: u32,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseEngine {
    Postgres,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OnCancel {
    /// Keep the role, the database and the Secret: the client's data outlives the release.
    #[default]
    Retain,
    /// Drop the database and the role and delete the Secret.
    Drop,
}

fn default_connection_limit() -> u32 {
    20
}

/// Where a product's chart comes from: exactly one of `path`, `repo` (+ `name`) or `oci`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    /// A local chart directory, relative to `--chart-root`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A chart repository URL (`https://…`); `name` is the chart in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An OCI reference (`oci://registry/charts/name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci: Option<String>,
    pub version: String,
}

/// Where a validated chart comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartSource<'a> {
    Path(&'a str),
    Repo { url: &'a str, name: &'a str },
    Oci(&'a str),
}

impl Chart {
    /// The source; only meaningful on a validated catalog, where exactly one is set.
    pub fn source(&self) -> ChartSource<'_> {
        match (&self.path, &self.repo, &self.name, &self.oci) {
            (Some(path), _, _, _) => ChartSource::Path(path),
            (_, Some(url), Some(name), _) => ChartSource::Repo { url, name },
            (_, _, _, Some(oci)) => ChartSource::Oci(oci),
            _ => ChartSource::Path(""),
        }
    }

    /// How the chart is named in events: the path, `repo/name` or the OCI reference.
    pub fn display(&self) -> String {
        match self.source() {
            ChartSource::Path(p) => p.to_string(),
            ChartSource::Repo { url, name } => format!("{}/{name}", url.trim_end_matches('/')),
            ChartSource::Oci(r) => r.to_string(),
        }
    }
}

/// The tenant baseline of a hardware tier.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HardwareTier {
    /// `ResourceQuota.spec.hard`: resource name → quantity.
    pub resource_quota: BTreeMap<String, String>,
    pub limit_range: LimitRangeSpec,
}

/// The container limits of a tier's LimitRange: resource name → quantity per field.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitRangeSpec {
    #[serde(default)]
    pub default: BTreeMap<String, String>,
    #[serde(default)]
    pub default_request: BTreeMap<String, String>,
    #[serde(default)]
    pub max: BTreeMap<String, String>,
    #[serde(default)]
    pub min: BTreeMap<String, String>,
}

/// An environment: its Pod Security Admission level.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Environment {
    /// `privileged`, `baseline` or `restricted`: enforced, audited and warned.
    pub pod_security: String,
}

impl Catalog {
    /// Parses and validates catalog YAML; `origin` names it in errors (a path or "built-in").
    pub fn parse(yaml: &str, origin: &str) -> Result<Self, CatalogError> {
        let catalog: Catalog = serde_yaml::from_str(yaml)
            .map_err(|source| CatalogError::Syntax { origin: origin.to_string(), source })?;
        validate::check(&catalog)
            .map_err(|problem| CatalogError::Invalid { origin: origin.to_string(), problem })?;
        Ok(catalog)
    }

    /// Reads the catalog at `path`, or the built-in one.
    pub fn load(path: Option<&Path>) -> Result<Self, CatalogError> {
        match path {
            None => Self::parse(BUILT_IN, "built-in catalog/default.yaml"),
            Some(path) => {
                let shown = path.display().to_string();
                let yaml = std::fs::read_to_string(path)
                    .map_err(|source| CatalogError::Read { path: shown.clone(), source })?;
                Self::parse(&yaml, &shown)
            }
        }
    }
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

#[cfg(test)]
mod tests;
