//! Semantic checks of a parsed catalog; each problem names where it is (product, field).

use std::path::Path;

use eda_common::client_name::validate_dns1123_label;

use super::{Catalog, Chart};

/// Helm limits release names to 53 characters; the release is named after the product.
pub const MAX_RELEASE_NAME: usize = 53;

/// A tenant's connection limit at most: more belongs to a database of its own server.
pub const MAX_CONNECTION_LIMIT: u32 = 1000;

const POD_SECURITY_LEVELS: [&str; 3] = ["privileged", "baseline", "restricted"];

/// The first problem found, as `<where>: <what>`.
pub fn check(catalog: &Catalog) -> Result<(), String> {
    if catalog.products.is_empty() {
        return Err("products: at least one product is needed".into());
    }
    if catalog.hardware.is_empty() {
        return Err("hardware: at least one hardware tier is needed".into());
    }
    if catalog.environments.is_empty() {
        return Err("environments: at least one environment is needed".into());
    }
    for (name, product) in &catalog.products {
        let at = |field: &str| format!("product `{name}`, field `{field}`");
        validate_dns1123_label("product", name).map_err(|e| format!("products.{name}: {e}"))?;
        if name.len() > MAX_RELEASE_NAME {
            return Err(format!(
                "products.{name}: the release is named after the product and Helm allows at most \
                 {MAX_RELEASE_NAME} characters"
            ));
        }
        check_chart(&product.chart).map_err(|e| format!("{}: {e}", at("chart")))?;
        if !product.values.is_object() {
            return Err(format!("{}: must be a mapping", at("values")));
        }
        for (env, values) in &product.environments {
            if !catalog.environments.contains_key(env) {
                return Err(format!("{}: unknown environment `{env}`", at("environments")));
            }
            if !values.is_object() {
                return Err(format!("{}: must be a mapping", at(&format!("environments.{env}"))));
            }
        }
        if let Some(database) = &product.database {
            if !(1..=MAX_CONNECTION_LIMIT).contains(&database.connection_limit) {
                return Err(format!(
                    "{}: {} is not between 1 and {MAX_CONNECTION_LIMIT}",
                    at("database.connectionLimit"),
                    database.connection_limit
                ));
            }
        }
        for tier in &product.hardware {
            if !catalog.hardware.contains_key(tier) {
                return Err(format!("{}: unknown hardware tier `{tier}`", at("hardware")));
            }
        }
    }
    for (name, tier) in &catalog.hardware {
        validate_dns1123_label("hardware tier", name).map_err(|e| format!("hardware.{name}: {e}"))?;
        if tier.resource_quota.is_empty() {
            return Err(format!("hardware tier `{name}`, field `resourceQuota`: is empty"));
        }
        let quantities = tier.resource_quota.iter().chain(tier.limit_range.default.iter());
        for (resource, quantity) in quantities.chain(tier.limit_range.default_request.iter()) {
            if quantity.trim().is_empty() {
                return Err(format!("hardware tier `{name}`: `{resource}` has an empty quantity"));
            }
        }
    }
    for (name, env) in &catalog.environments {
        validate_dns1123_label("environment", name).map_err(|e| format!("environments.{name}: {e}"))?;
        if !POD_SECURITY_LEVELS.contains(&env.pod_security.as_str()) {
            return Err(format!(
                "environment `{name}`, field `podSecurity`: `{}` is not one of {}",
                env.pod_security,
                POD_SECURITY_LEVELS.join(", ")
            ));
        }
    }
    Ok(())
}

/// Exactly one source, and nothing that could be read as a helm flag.
fn check_chart(chart: &Chart) -> Result<(), String> {
    let sources = [chart.path.is_some(), chart.repo.is_some(), chart.oci.is_some()];
    if sources.iter().filter(|s| **s).count() != 1 {
        return Err("give exactly one of `path`, `repo` (with `name`) or `oci`".into());
    }
    if chart.repo.is_some() != chart.name.is_some() {
        return Err("`repo` and `name` go together".into());
    }
    let texts = [&chart.path, &chart.repo, &chart.name, &chart.oci].into_iter().flatten();
    for text in texts.chain(std::iter::once(&chart.version)) {
        if text.is_empty() || text.starts_with('-') || text.chars().any(char::is_whitespace) {
            return Err(format!("`{text}` is empty, starts with '-' or contains whitespace"));
        }
    }
    if let Some(repo) = &chart.repo {
        if !(repo.starts_with("https://") || repo.starts_with("http://")) {
            return Err(format!("repo `{repo}` is not an http(s) URL"));
        }
    }
    if let Some(oci) = &chart.oci {
        if !oci.starts_with("oci://") {
            return Err(format!("oci `{oci}` does not start with oci://"));
        }
    }
    if let Some(path) = &chart.path {
        if Path::new(path).is_absolute() || path.split('/').any(|p| p == "..") {
            return Err(format!("path `{path}` must be relative to --chart-root, without `..`"));
        }
    }
    Ok(())
}
