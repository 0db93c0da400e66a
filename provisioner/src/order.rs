//! An order: the fields of a `published` or `cancelled` envelope the provisioner acts on,
//! validated before any of them reaches a Kubernetes object or a helm argument.

use eda_common::client_name::validate_dns1123_label;
use eda_common::Envelope;
use uuid::Uuid;

use crate::catalog::{Catalog, Product};

mod stamp;
pub use stamp::OrderStamp;

/// Helm limits release names to 53 characters.
pub const MAX_RELEASE_NAME: usize = 53;

/// A reason an order can never succeed; it names the field (never echoes hostile text whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OrderError(pub String);

/// Who and what: enough to find (or remove) a tenant's release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub client: String,
    /// The event's `namespace`, else the client.
    pub namespace: String,
    pub product: String,
    /// The release is named after the product.
    pub release: String,
    pub trace_id: Uuid,
}

/// A purchase: the tenant plus where and on what it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub tenant: Tenant,
    pub environment: String,
    pub hardware: String,
    /// The `traceparent` of the span that recorded the order, while spans are exported: the
    /// namespace carries it, so the spans of the exporter join the order's.
    pub order_span: Option<String>,
}

impl Tenant {
    /// Reads and checks client, namespace and product (all a `cancelled` event needs). The
    /// product is not looked up in the catalog: a product withdrawn since the purchase can
    /// still be cancelled, since the release it names is all an uninstall needs.
    pub fn from_envelope(envelope: &Envelope) -> Result<Tenant, OrderError> {
        let client = field(envelope, "client")?;
        validate_dns1123_label("client", client).map_err(|e| OrderError(e.to_string()))?;
        let namespace = envelope.body_str("namespace").filter(|n| !n.is_empty()).unwrap_or(client);
        validate_dns1123_label("namespace", namespace).map_err(|e| OrderError(e.to_string()))?;
        if namespace == "default" || namespace.starts_with("kube-") {
            return Err(OrderError(format!(
                "namespace `{namespace}` is reserved by Kubernetes; a tenant needs its own"
            )));
        }
        let product = field(envelope, "product")?;
        // It names the release, which reaches helm's argument vector.
        validate_dns1123_label("product", product).map_err(|e| OrderError(e.to_string()))?;
        if product.len() > MAX_RELEASE_NAME {
            return Err(OrderError(format!(
                "product: the release name is over {MAX_RELEASE_NAME} characters"
            )));
        }
        Ok(Tenant {
            client: client.to_string(),
            namespace: namespace.to_string(),
            product: product.to_string(),
            release: product.to_string(),
            trace_id: envelope.trace_id(),
        })
    }
}

impl Order {
    /// Reads and checks everything a `published` event needs.
    pub fn from_envelope(envelope: &Envelope, catalog: &Catalog) -> Result<Order, OrderError> {
        let tenant = Tenant::from_envelope(envelope)?;
        let environment = field(envelope, "environment")?;
        if !catalog.environments.contains_key(environment) {
            return Err(OrderError(format!(
                "environment: unknown environment (catalog has {})",
                names(catalog.environments.keys())
            )));
        }
        let hardware = field(envelope, "hardware")?;
        if !catalog.hardware.contains_key(hardware) {
            return Err(OrderError(format!(
                "hardware: unknown hardware tier (catalog has {})",
                names(catalog.hardware.keys())
            )));
        }
        let product = product_of(catalog, &tenant.product)?;
        if !product.hardware.is_empty() && !product.hardware.iter().any(|h| h == hardware) {
            return Err(OrderError(format!(
                "hardware: product `{}` is not offered on tier `{hardware}` (only {})",
                tenant.product,
                names(product.hardware.iter())
            )));
        }
        Ok(Order {
            tenant,
            environment: environment.to_string(),
            hardware: hardware.to_string(),
            order_span: None,
        })
    }
}

fn field<'a>(envelope: &'a Envelope, name: &str) -> Result<&'a str, OrderError> {
    envelope.body_str(name).ok_or_else(|| OrderError(format!("{name}: missing (a string is required)")))
}

fn product_of<'a>(catalog: &'a Catalog, product: &str) -> Result<&'a Product, OrderError> {
    catalog.products.get(product).ok_or_else(|| {
        // Only a safe product name is echoed; anything else could be hostile text.
        let shown =
            if validate_dns1123_label("product", product).is_ok() { product } else { "<invalid name>" };
        OrderError(format!(
            "product: `{shown}` is not in the catalog (it has {})",
            names(catalog.products.keys())
        ))
    })
}

fn names<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    keys.map(String::as_str).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
