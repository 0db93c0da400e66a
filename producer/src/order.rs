//! An order: the purchase a person or a program submits, validated against the catalog and
//! turned into the `published` envelope of DESIGN.md §2.

use eda_common::client_name::validate_dns1123_label;
use eda_common::{ClientName, Envelope, EventType};
use serde_json::{Map, Value};

use crate::catalog::{Catalog, ARCHTYPES};
use crate::error::FieldError;

/// The fields an order has, in the order they are written into the envelope.
pub const FIELDS: [&str; 6] = ["client", "namespace", "environment", "archtype", "hardware", "product"];

/// A valid order: every value checked, `namespace` defaulted to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub client: ClientName,
    pub namespace: String,
    pub environment: String,
    pub archtype: String,
    pub hardware: String,
    pub product: String,
}

/// Who publishes: the fixed `Metadata` of every envelope the producer builds.
#[derive(Debug, Clone)]
pub struct Publishing {
    pub company: String,
    pub host: String,
    pub origin: String,
}

impl Order {
    /// Checks every field of a JSON object or form (all errors, in field order, not only the first).
    /// A form sends empty strings for untouched inputs: empty counts as missing.
    pub fn from_fields(fields: &Map<String, Value>, catalog: &Catalog) -> Result<Order, Vec<FieldError>> {
        let mut errors = Vec::new();
        for key in fields.keys() {
            if !FIELDS.contains(&key.as_str()) {
                errors.push(FieldError::new(key, format!("{key} is not a field of an order")));
            }
        }
        let mut text = |name: &str, required: bool| -> Option<String> {
            match fields.get(name) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s.is_empty() => {}
                Some(Value::String(s)) => return Some(s.clone()),
                Some(other) => {
                    errors.push(FieldError::new(
                        name,
                        format!("{name} is {}, expected a string", eda_common::envelope::json_type(other)),
                    ));
                    return None;
                }
            }
            if required {
                errors.push(FieldError::new(name, format!("{name} is missing")));
            }
            None
        };
        let client = text("client", true);
        let namespace = text("namespace", false);
        let environment = text("environment", true);
        let archtype = text("archtype", true);
        let hardware = text("hardware", true);
        let product = text("product", true);

        let client = client.and_then(|c| {
            ClientName::parse(&c).map_err(|e| errors.push(FieldError::new("client", e.to_string()))).ok()
        });
        if let Some(ns) = &namespace {
            if let Err(e) = validate_dns1123_label("namespace", ns) {
                errors.push(FieldError::new("namespace", e.to_string()));
            }
        }
        let offered = |what: &str, value: &str, ok: bool, choices: Vec<&str>| {
            (!ok).then(|| {
                FieldError::new(
                    what,
                    format!("{what} {value:?} is not offered (choose one of: {})", choices.join(", ")),
                )
            })
        };
        if let Some(p) = &product {
            let choices = catalog.products.keys().map(String::as_str).collect();
            errors.extend(offered("product", p, catalog.has_product(p), choices));
        }
        if let Some(e) = &environment {
            let choices = catalog.environments.iter().map(String::as_str).collect();
            errors.extend(offered("environment", e, catalog.has_environment(e), choices));
        }
        if let Some(a) = &archtype {
            errors.extend(offered("archtype", a, ARCHTYPES.contains(&a.as_str()), ARCHTYPES.to_vec()));
        }
        if let Some(h) = &hardware {
            let choices = catalog.hardware.iter().map(String::as_str).collect();
            errors.extend(offered("hardware", h, catalog.has_hardware(h), choices));
        }
        // Report in the form's field order, whatever order the checks ran in.
        errors.sort_by_key(|e| FIELDS.iter().position(|f| *f == e.field).unwrap_or(FIELDS.len()));
        match (client, environment, archtype, hardware, product) {
            (Some(client), Some(environment), Some(archtype), Some(hardware), Some(product))
                if errors.is_empty() =>
            {
                let namespace = namespace.unwrap_or_else(|| client.to_string());
                Ok(Order { client, namespace, environment, archtype, hardware, product })
            }
            _ => Err(errors),
        }
    }

    /// The `published` envelope of this order, in a new trace.
    pub fn envelope(&self, who: &Publishing) -> Result<Envelope, eda_common::EnvelopeError> {
        let event_type = EventType::new(&who.company, "producer", self.client.as_str(), "published")?;
        let mut body = Map::new();
        for (key, value) in [
            ("client", self.client.as_str()),
            ("namespace", &self.namespace),
            ("environment", &self.environment),
            ("archtype", &self.archtype),
            ("hardware", &self.hardware),
            ("product", &self.product),
        ] {
            body.insert(key.into(), value.into());
        }
        Ok(who.stamp(Envelope::new(event_type, eda_common::telemetry::new_trace_id(), body)))
    }
}

impl Publishing {
    /// Sets `Metadata` (host, origing, publisher) as the producer signs its events.
    pub fn stamp(&self, mut envelope: Envelope) -> Envelope {
        envelope.metadata.host = Some(self.host.clone());
        envelope.metadata.origin = Some(self.origin.clone());
        envelope.metadata.publisher = Some("producer".into());
        envelope
    }
}

/// This machine's name for `Metadata.host`: the kernel's, else `HOSTNAME`, else `unknown`.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
