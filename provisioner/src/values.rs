//! The values a release is installed with: the product's, then its environment's (deep
//! merged), then `database.existingSecret` for a product with a database, then the trace
//! fields, set last so that no catalog entry can override them.

use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::order::Order;

/// Catalog values ← environment values ← `podAnnotations.trace_id`, `podAnnotations.client`,
/// `podLabels.trace_id`.
pub fn release_values_for(order: &Order, catalog: &Catalog) -> Value {
    let mut values = Value::Object(Map::new());
    if let Some(product) = catalog.products.get(&order.tenant.product) {
        merge(&mut values, &product.values);
        if let Some(env_values) = product.environments.get(&order.environment) {
            merge(&mut values, env_values);
        }
    }
    if catalog.products.get(&order.tenant.product).is_some_and(|p| p.database.is_some()) {
        // The Secret's name only: the credentials never pass through values.
        let secret = crate::database::secret_name(&order.tenant.release);
        set(&mut values, "database", "existingSecret", &secret);
    }
    let trace_id = order.tenant.trace_id.to_string();
    set(&mut values, "podAnnotations", "trace_id", &trace_id);
    set(&mut values, "podAnnotations", "client", &order.tenant.client);
    set(&mut values, "podLabels", "trace_id", &trace_id);
    values
}

/// Deep merge: mappings merge key by key, anything else (lists included) replaces, as Helm does.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                merge(base.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (base, over) => *base = over.clone(),
    }
}

fn set(values: &mut Value, map: &str, key: &str, value: &str) {
    let root = values.as_object_mut().expect("release values are a mapping");
    let entry = root.entry(map).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut().expect("just made a mapping").insert(key.into(), value.into());
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::objects::tests::order;

    #[test]
    fn environment_values_merge_over_product_values_and_trace_fields_come_last() {
        let yaml = crate::catalog::BUILT_IN.replace(
            "      production:\n        replicaCount: 2\n",
            "      production:\n        replicaCount: 2\n        podAnnotations: { trace_id: forged, team: a }\n",
        );
        let catalog = Catalog::parse(&yaml, "t").unwrap();
        let values = release_values_for(&order("production", "classic"), &catalog);
        assert_eq!(
            values,
            json!({
                "replicaCount": 2,
                "message": "Product A",
                "podAnnotations": {"trace_id": "9a2ae9de-3f82-4f55-966b-47df50ff51ff", "team": "a",
                                   "client": "cliente02"},
                "podLabels": {"trace_id": "9a2ae9de-3f82-4f55-966b-47df50ff51ff"},
            })
        );
        let dev = release_values_for(&order("development", "classic"), &catalog);
        assert_eq!(dev["replicaCount"], 1);
    }

    #[test]
    fn merge_replaces_lists_and_scalars_and_merges_maps() {
        let mut base = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        merge(&mut base, &json!({"a": {"c": [3], "e": true}, "d": {"f": 1}}));
        assert_eq!(base, json!({"a": {"b": 1, "c": [3], "e": true}, "d": {"f": 1}}));
    }
}
