use super::*;
use eda_common::EventType;
use serde_json::json;

fn envelope(body: serde_json::Value) -> Envelope {
    let event_type = EventType::new("mycompany", "producer", "cliente02", "published").unwrap();
    Envelope::new(event_type, Uuid::new_v4(), body.as_object().unwrap().clone())
}

fn body(client: &str) -> serde_json::Value {
    json!({"client": client, "environment": "development", "hardware": "dedicated", "product": "product-a"})
}

fn reject(body: serde_json::Value) -> String {
    let catalog = Catalog::load(None).unwrap();
    Order::from_envelope(&envelope(body), &catalog).unwrap_err().0
}

#[test]
fn a_valid_order_defaults_its_namespace_to_the_client_and_names_the_release_after_the_product() {
    let catalog = Catalog::load(None).unwrap();
    let order = Order::from_envelope(&envelope(body("cliente02")), &catalog).unwrap();
    assert_eq!(order.tenant.namespace, "cliente02");
    assert_eq!(order.tenant.release, "product-a");
    assert_eq!((order.environment.as_str(), order.hardware.as_str()), ("development", "dedicated"));
}

#[test]
fn hostile_client_names_are_rejected_naming_the_field() {
    for client in ["x;rm -rf /", "--post-renderer=evil", &"a".repeat(64), "Cliente02", ""] {
        let reason = reject(body(client));
        assert!(reason.starts_with("client"), "{client:?}: {reason}");
        assert!(!reason.contains("rm -rf"), "the hostile text is not echoed: {reason}");
    }
}

#[test]
fn reserved_namespaces_are_rejected() {
    for ns in ["default", "kube-system", "kube-public"] {
        let mut b = body("cliente02");
        b["namespace"] = json!(ns);
        assert!(reject(b).contains("reserved"), "{ns}");
    }
}

#[test]
fn unknown_product_environment_and_hardware_are_rejected_naming_the_field() {
    let mut b = body("cliente02");
    b["product"] = json!("product-z");
    assert!(reject(b).starts_with("product: `product-z` is not in the catalog"));
    let mut b = body("cliente02");
    b["environment"] = json!("moon");
    assert!(reject(b).starts_with("environment: unknown"));
    let mut b = body("cliente02");
    b["hardware"] = json!("gold");
    assert!(reject(b).starts_with("hardware: unknown"));
    let mut b = body("cliente02");
    b.as_object_mut().unwrap().remove("hardware");
    assert_eq!(reject(b), "hardware: missing (a string is required)");
}
