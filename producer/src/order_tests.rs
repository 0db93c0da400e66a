//! Unit tests of order validation and the envelope it becomes.

use serde_json::json;

use super::*;

fn catalog() -> Catalog {
    Catalog::load(None).unwrap()
}

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn good() -> Value {
    json!({"client": "cliente02", "environment": "development", "archtype": "saas",
           "hardware": "dedicated", "product": "product-a"})
}

#[test]
fn a_complete_order_is_valid_and_its_namespace_defaults_to_the_client() {
    let order = Order::from_fields(&fields(good()), &catalog()).unwrap();
    assert_eq!(order.namespace, "cliente02");
    assert_eq!(order.product, "product-a");
}

#[test]
fn every_invalid_field_is_reported_in_form_order() {
    let bad = json!({"client": "Cliente_02", "environment": "mars", "archtype": 3, "product": "product-z"});
    let errors = Order::from_fields(&fields(bad), &catalog()).unwrap_err();
    let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(named, ["client", "environment", "archtype", "hardware", "product"]);
    assert!(errors[0].error.contains("position 1"), "{}", errors[0].error);
    assert!(errors[2].error.contains("a number, expected a string"), "{}", errors[2].error);
    assert_eq!(errors[3].error, "hardware is missing");
    assert!(errors[4].error.contains("product-a"), "names the offered products: {}", errors[4].error);
}

#[test]
fn an_unknown_field_is_refused_so_a_typo_is_not_silently_ignored() {
    let mut v = good();
    v["namespce"] = json!("x");
    let errors = Order::from_fields(&fields(v), &catalog()).unwrap_err();
    assert_eq!(errors[0].field, "namespce");
}

#[test]
fn an_empty_form_value_counts_as_missing() {
    let mut v = good();
    v["client"] = json!("");
    v["namespace"] = json!("");
    let errors = Order::from_fields(&fields(v), &catalog()).unwrap_err();
    assert_eq!(errors, vec![FieldError::new("client", "client is missing")]);
}

#[test]
fn the_envelope_has_the_design_shape_and_the_producers_metadata() {
    let order = Order::from_fields(&fields(good()), &catalog()).unwrap();
    let who = Publishing { company: "mycompany".into(), host: "h1".into(), origin: "Cloud".into() };
    let value = order.envelope(&who).unwrap().to_value();
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, [&FIELDS[..], &["MessageAttributes", "Metadata"]].concat());
    assert_eq!(
        value["MessageAttributes"]["event_type"]["Value"],
        "mycompany.producer.event.cliente02.published"
    );
    assert_eq!(value["MessageAttributes"]["retrace_intent"], "0");
    assert_eq!(value["Metadata"], json!({"host": "h1", "origing": "Cloud", "publisher": "producer"}));
}
