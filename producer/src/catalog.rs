//! What the portal offers: product names and descriptions, hardware tiers and environments,
//! read from the provisioner's catalog (the rest of that file is the provisioner's business).

use std::collections::BTreeMap;
use std::path::Path;

/// The catalog the repository ships; `PROVISIONER_CATALOG` replaces it.
const BUILT_IN: &str = include_str!("../../catalog/default.yaml");

/// The deployment archetypes an order may ask for (not part of the catalog file).
pub const ARCHTYPES: [&str; 3] = ["saas", "edge", "on-prem"];

/// Why the catalog could not be loaded; the producer does not start without one.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the catalog {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the catalog {origin} is not valid YAML of the expected shape: {source}")]
    Parse { origin: String, source: serde_yaml::Error },
    #[error("the catalog {origin} has no {section}: an order could never be valid")]
    Empty { origin: String, section: &'static str },
}

/// The choices of the purchase form, in name order.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub products: BTreeMap<String, Product>,
    pub hardware: Vec<String>,
    pub environments: Vec<String>,
}

/// A product as the portal shows it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Product {
    #[serde(default)]
    pub description: String,
}

#[derive(serde::Deserialize)]
struct File {
    products: BTreeMap<String, Product>,
    #[serde(default)]
    hardware: BTreeMap<String, serde_yaml::Value>,
    #[serde(default)]
    environments: BTreeMap<String, serde_yaml::Value>,
}

impl Catalog {
    /// The file at `path`, or the built-in catalog.
    pub fn load(path: Option<&Path>) -> Result<Self, CatalogError> {
        match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| CatalogError::Read { path: path.display().to_string(), source })?;
                Self::parse(&text, &path.display().to_string())
            }
            None => Self::parse(BUILT_IN, "built-in"),
        }
    }

    /// Parses catalog YAML; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, CatalogError> {
        let file: File = serde_yaml::from_str(text)
            .map_err(|source| CatalogError::Parse { origin: origin.into(), source })?;
        let catalog = Catalog {
            products: file.products,
            hardware: file.hardware.into_keys().collect(),
            environments: file.environments.into_keys().collect(),
        };
        for (section, empty) in [
            ("products", catalog.products.is_empty()),
            ("hardware", catalog.hardware.is_empty()),
            ("environments", catalog.environments.is_empty()),
        ] {
            if empty {
                return Err(CatalogError::Empty { origin: origin.into(), section });
            }
        }
        Ok(catalog)
    }

    pub fn has_product(&self, name: &str) -> bool {
        self.products.contains_key(name)
    }

    pub fn has_hardware(&self, name: &str) -> bool {
        self.hardware.iter().any(|h| h == name)
    }

    pub fn has_environment(&self, name: &str) -> bool {
        self.environments.iter().any(|e| e == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalog_offers_the_demo_products_tiers_and_environments() {
        let c = Catalog::load(None).unwrap();
        assert!(
            c.has_product("product-a")
                && c.has_product("product-b")
                && c.has_product("product-c")
                && c.has_product("product-db")
        );
        assert!(!c.products["product-a"].description.is_empty());
        assert!(c.has_hardware("dedicated") && c.has_hardware("classic"));
        assert!(c.has_environment("development") && c.has_environment("production"));
        assert!(!c.has_product("product-z"));
    }

    #[test]
    fn a_catalog_without_products_is_refused_by_name() {
        let err = Catalog::parse("products: {}\nhardware: {a: {}}\nenvironments: {b: {}}", "x.yaml");
        assert!(err.unwrap_err().to_string().contains("no products"));
    }

    #[test]
    fn fields_the_producer_does_not_need_are_ignored() {
        let yaml = "products:\n  p1:\n    chart: {path: x}\n    values: {a: 1}\n\
                    hardware:\n  small: {resourceQuota: {pods: '1'}}\nenvironments:\n  dev: {}\n";
        let c = Catalog::parse(yaml, "x.yaml").unwrap();
        assert!(c.has_product("p1") && c.has_hardware("small") && c.has_environment("dev"));
        assert_eq!(c.products["p1"].description, "");
    }
}
