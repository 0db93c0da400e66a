//! deploy/: the compose file, its Prometheus configuration and Grafana provisioning agree with
//! each other, with the services' ports (DESIGN.md §6) and with the chart's dashboards.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

mod healthcheck;

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(file)
}

fn yaml(file: &str) -> Value {
    let path = deploy(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut value: Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
    // Compose files use merge keys (`<<: *eda`); resolve them as compose does.
    value.apply_merge().expect("merge keys resolve");
    value
}

/// The services with their `HTTP_ADDR` ports, as DESIGN.md §6 gives the defaults.
const PORTS: [(&str, u16); 5] = [
    ("producer", 8080),
    ("consumer", 9091),
    ("dbwriter", 9092),
    ("provisioner", 9093),
    ("k8s-event-exporter", 9094),
];

#[test]
fn the_compose_file_parses_and_names_every_service() {
    let compose = yaml("compose.yaml");
    let services = compose["services"].as_mapping().expect("a services map");
    for name in
        ["producer", "consumer", "dbwriter", "provisioner", "rabbitmq", "postgres", "grafana", "prometheus"]
    {
        assert!(services.contains_key(name), "compose runs {name}");
    }
    // The exporter needs a cluster: it is there, behind a profile.
    let exporter = &services["k8s-event-exporter"];
    assert_eq!(exporter["profiles"][0], "cluster");
}

#[test]
fn every_eda_service_in_compose_listens_where_prometheus_scrapes_it() {
    let compose = yaml("compose.yaml");
    let prometheus = yaml("prometheus.yml");
    let targets: Vec<&str> = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for (service, port) in PORTS {
        let env = &compose["services"][service]["environment"];
        assert_eq!(
            env["HTTP_ADDR"],
            format!("0.0.0.0:{port}").as_str(),
            "{service} listens on its default port"
        );
        assert!(targets.contains(&format!("{service}:{port}").as_str()), "Prometheus scrapes {service}");
        assert!(
            env["AMQP_URL"].as_str().is_some_and(|u| u.contains("@rabbitmq:5672")),
            "{service} uses the broker"
        );
    }
    assert_eq!(compose["services"]["provisioner"]["environment"]["PROVISIONER_MODE"], "plan");
}

#[test]
fn grafana_gets_the_charts_dashboards_and_a_data_source_of_every_type_they_ask_for() {
    let compose = yaml("compose.yaml");
    let mounts: Vec<&str> = compose["services"]["grafana"]["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        mounts.iter().any(|m| m.starts_with("../helm/eda/dashboards:")),
        "the chart's dashboards: {mounts:?}"
    );
    let datasources = yaml("grafana/provisioning/datasources/eda.yaml");
    let types: Vec<&str> = datasources["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    let dashboards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../helm/eda/dashboards");
    for entry in std::fs::read_dir(dashboards).unwrap() {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        for var in json["templating"]["list"].as_array().unwrap().iter().filter(|v| v["type"] == "datasource")
        {
            let wanted = var["query"].as_str().unwrap();
            assert!(types.contains(&wanted), "a {wanted} data source is provisioned (have {types:?})");
        }
    }
    let providers = yaml("grafana/provisioning/dashboards/eda.yaml");
    assert_eq!(providers["providers"][0]["options"]["path"], "/var/lib/grafana/dashboards/eda");
}
