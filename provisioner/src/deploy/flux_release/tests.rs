use std::time::Duration;

use serde_json::json;

use super::*;
use crate::catalog::Catalog;
use crate::objects::tests::order;

fn settings() -> FluxSettings {
    FluxSettings {
        git_source_name: "eda-charts".into(),
        git_source_namespace: "flux-system".into(),
        interval: "10m".into(),
        timeout: Duration::from_secs(300),
    }
}

fn release() -> Release {
    Release::for_order(&order("development", "classic"), &Catalog::load(None).unwrap()).unwrap()
}

#[test]
fn the_helm_release_carries_chart_values_remediation_and_the_trace_id() {
    let hr = serde_json::to_value(helm_release_for(&release(), &settings())).unwrap();
    let trace = "9a2ae9de-3f82-4f55-966b-47df50ff51ff";
    assert_eq!(hr["apiVersion"], "helm.toolkit.fluxcd.io/v2");
    assert_eq!(hr["kind"], "HelmRelease");
    assert_eq!(hr["metadata"]["name"], "product-a");
    assert_eq!(hr["metadata"]["namespace"], "cliente02");
    assert_eq!(hr["metadata"]["annotations"]["eda.io/trace-id"], trace);
    assert_eq!(
        hr["spec"]["chart"],
        json!({"spec": {"chart": "./helm/demo-product",
                        "sourceRef": {"kind": "GitRepository", "name": "eda-charts", "namespace": "flux-system"}}})
    );
    assert_eq!(hr["spec"]["values"]["podAnnotations"]["trace_id"], trace);
    assert_eq!(hr["spec"]["values"]["podLabels"]["trace_id"], trace);
    assert_eq!(hr["spec"]["install"]["remediation"]["retries"], 2);
    assert_eq!(hr["spec"]["upgrade"]["remediation"]["remediateLastFailure"], true);
    assert_eq!(
        hr["spec"]["commonMetadata"],
        json!({"labels": {"eda.io/trace-id": trace, "eda.io/client": "cliente02"},
               "annotations": {"eda.io/trace-id": trace}})
    );
    assert!(source_for(&release(), &settings()).is_none());
}

#[test]
fn repository_and_oci_charts_get_a_source_in_the_tenant_namespace() {
    let mut r = release();
    r.chart = crate::catalog::Chart {
        path: None,
        repo: Some("https://charts.example".into()),
        name: Some("web".into()),
        oci: None,
        version: "1.2.3".into(),
    };
    let hr = serde_json::to_value(helm_release_for(&r, &settings())).unwrap();
    assert_eq!(hr["spec"]["chart"]["spec"]["sourceRef"]["kind"], "HelmRepository");
    assert_eq!(hr["spec"]["chart"]["spec"]["version"], "1.2.3");
    let source = serde_json::to_value(source_for(&r, &settings()).unwrap()).unwrap();
    assert_eq!(source["kind"], "HelmRepository");
    assert_eq!(source["spec"]["url"], "https://charts.example");
    r.chart.repo = None;
    r.chart.name = None;
    r.chart.oci = Some("oci://r.example/c/web".into());
    let hr = serde_json::to_value(helm_release_for(&r, &settings())).unwrap();
    assert_eq!(
        hr["spec"]["chartRef"],
        json!({"kind": "OCIRepository", "name": "product-a", "namespace": "cliente02"})
    );
    let source = serde_json::to_value(source_for(&r, &settings()).unwrap()).unwrap();
    assert_eq!(source["spec"]["ref"]["tag"], "1.2.3");
}
