use super::*;

#[test]
fn the_built_in_catalog_offers_products_a_b_and_c_from_the_demo_chart() {
    let catalog = Catalog::load(None).unwrap();
    let names: Vec<_> = catalog.products.keys().cloned().collect();
    assert_eq!(names, ["product-a", "product-b", "product-c", "product-db"]);
    for product in catalog.products.values() {
        assert_eq!(product.chart.source(), ChartSource::Path("helm/demo-product"));
        assert!(!product.description.is_empty());
    }
    assert!(catalog.hardware.contains_key("classic") && catalog.hardware.contains_key("dedicated"));
    assert_eq!(catalog.environments["production"].pod_security, "restricted");
}

#[test]
fn a_syntax_error_names_the_line_and_column() {
    let yaml = "products:\n  a:\n    chart: [unclosed\n";
    let err = Catalog::parse(yaml, "test.yaml").unwrap_err().to_string();
    assert!(err.contains("test.yaml"), "{err}");
    assert!(err.contains("line"), "{err}");
    assert!(err.contains("column"), "{err}");
}

#[test]
fn an_unknown_field_is_rejected_with_its_name() {
    let yaml = BUILT_IN.replace("  product-c:\n", "  product-c:\n    replicas: 3\n");
    let err = Catalog::parse(&yaml, "c.yaml").unwrap_err().to_string();
    assert!(err.contains("replicas"), "{err}");
}

fn with_product_d(extra: &str) -> String {
    BUILT_IN.replace(
        "\nhardware:\n",
        &format!(
            "  product-d:\n    chart: {{ path: helm/demo-product, version: 0.1.0 }}\n{extra}\nhardware:\n"
        ),
    )
}

#[test]
fn an_unknown_hardware_tier_names_the_product_and_field() {
    let err = Catalog::parse(&with_product_d("    hardware: [gold]"), "c.yaml").unwrap_err().to_string();
    assert!(err.contains("product `product-d`, field `hardware`: unknown hardware tier `gold`"), "{err}");
}

#[test]
fn an_unknown_environment_names_the_product_and_field() {
    let yaml = with_product_d("    environments:\n      moon: { replicaCount: 1 }");
    let err = Catalog::parse(&yaml, "c.yaml").unwrap_err().to_string();
    assert!(err.contains("product `product-d`, field `environments`: unknown environment `moon`"), "{err}");
}

#[test]
fn a_chart_with_two_sources_or_a_flag_like_version_is_rejected() {
    let two = with_product_d("").replace(
        "product-d:\n    chart: { path: helm/demo-product,",
        "product-d:\n    chart: { path: helm/demo-product, oci: oci://r/x,",
    );
    let err = Catalog::parse(&two, "c.yaml").unwrap_err().to_string();
    assert!(err.contains("exactly one of"), "{err}");
    let flag = with_product_d("").replace(
        "product-d:\n    chart: { path: helm/demo-product, version: 0.1.0 }",
        "product-d:\n    chart: { path: helm/demo-product, version: --post-renderer=x }",
    );
    let err = Catalog::parse(&flag, "c.yaml").unwrap_err().to_string();
    assert!(err.contains("starts with '-'"), "{err}");
}

#[test]
fn a_product_name_too_long_for_a_release_is_rejected() {
    let long = "p".repeat(54);
    let yaml = with_product_d("").replace("product-d:", &format!("{long}:"));
    let err = Catalog::parse(&yaml, "c.yaml").unwrap_err().to_string();
    assert!(err.contains("at most 53"), "{err}");
}

#[test]
fn an_unknown_pod_security_level_is_rejected() {
    let yaml = BUILT_IN.replace("staging: { podSecurity: baseline }", "staging: { podSecurity: lax }");
    let err = Catalog::parse(&yaml, "c.yaml").unwrap_err().to_string();
    assert!(err.contains("environment `staging`, field `podSecurity`"), "{err}");
}

#[test]
fn a_database_block_is_read_with_its_defaults() {
    let catalog = Catalog::parse(&with_product_d("    database: { engine: postgres }"), "c.yaml").unwrap();
    let database = catalog.products["product-d"].database.clone().unwrap();
    assert_eq!(
        database,
        DatabaseSpec { engine: DatabaseEngine::Postgres, on_cancel: OnCancel::Retain, connection_limit: 20 }
    );
    let built_in = Catalog::load(None).unwrap();
    let demo = built_in.products["product-db"].database.clone().unwrap();
    assert_eq!((demo.on_cancel, demo.connection_limit), (OnCancel::Retain, 10));
    assert!(built_in.products["product-a"].database.is_none());
}

#[test]
fn a_bad_database_block_is_refused_naming_the_product_and_field() {
    for (block, names) in [
        ("    database: { engine: mysql }", ["product-d", "database.engine", "mysql"]),
        ("    database: { engine: postgres, onCancel: keep }", ["product-d", "database.onCancel", "keep"]),
        ("    database: { engine: postgres, size: 10Gi }", ["product-d", "database", "size"]),
        (
            "    database: { engine: postgres, connectionLimit: 0 }",
            ["product `product-d`", "database.connectionLimit", "0"],
        ),
    ] {
        let err = Catalog::parse(&with_product_d(block), "c.yaml").unwrap_err().to_string();
        for name in names {
            assert!(err.contains(name), "{block}: {err}");
        }
    }
}
