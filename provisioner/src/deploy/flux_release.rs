//! The Flux objects of a release, as pure functions: the `helm.toolkit.fluxcd.io/v2`
//! HelmRelease (its `commonMetadata` puts the trace id on every rendered object) and, for
//! repository and OCI charts, the source it pulls from.

use std::time::Duration;

use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{json, Value};

use super::Release;
use crate::catalog::ChartSource;
use crate::objects::{tenant_labels, trace_annotation, ANNOTATION_TRACE_ID};

/// `helm.toolkit.fluxcd.io/v2` `HelmRelease`.
pub const HELM_RELEASE: (&str, &str, &str, &str) =
    ("helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases");

/// The API resource of a Flux kind.
pub fn resource((group, version, kind, plural): (&str, &str, &str, &str)) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

pub(crate) const HELM_REPOSITORY: (&str, &str, &str, &str) =
    ("source.toolkit.fluxcd.io", "v1", "HelmRepository", "helmrepositories");
pub(crate) const OCI_REPOSITORY: (&str, &str, &str, &str) =
    ("source.toolkit.fluxcd.io", "v1", "OCIRepository", "ocirepositories");

/// Where HelmReleases come from and how long to wait for them.
#[derive(Debug, Clone)]
pub struct FluxSettings {
    /// The GitRepository holding the catalog's local chart paths (`--flux-source-name`).
    pub git_source_name: String,
    /// Its namespace (`--flux-source-namespace`).
    pub git_source_namespace: String,
    /// Reconcile interval of every Flux object (`--flux-interval`), a Go duration.
    pub interval: String,
    /// How long to wait for `Ready` (`--flux-timeout`); also the HelmRelease's helm timeout.
    pub timeout: Duration,
}

/// The HelmRelease for a release: chart and values from the catalog, remediation on install
/// and upgrade failures, and the trace id in `commonMetadata`.
pub fn helm_release_for(release: &Release, settings: &FluxSettings) -> DynamicObject {
    let tenant = &release.tenant;
    let trace_id = tenant.trace_id.to_string();
    let chart = match release.chart.source() {
        ChartSource::Path(path) => json!({"chart": {"spec": {
            "chart": format!("./{path}"),
            "sourceRef": {"kind": "GitRepository", "name": settings.git_source_name,
                          "namespace": settings.git_source_namespace},
        }}}),
        ChartSource::Repo { name, .. } => json!({"chart": {"spec": {
            "chart": name,
            "version": release.chart.version,
            "sourceRef": {"kind": "HelmRepository", "name": tenant.release, "namespace": tenant.namespace},
        }}}),
        ChartSource::Oci(_) => json!({"chartRef": {
            "kind": "OCIRepository", "name": tenant.release, "namespace": tenant.namespace,
        }}),
    };
    let mut spec = json!({
        "releaseName": tenant.release,
        "interval": settings.interval,
        "timeout": format!("{}s", settings.timeout.as_secs().max(1)),
        "values": release.values,
        "install": {"remediation": {"retries": 2}},
        "upgrade": {"remediation": {"retries": 2, "remediateLastFailure": true}},
        "commonMetadata": {
            "labels": {ANNOTATION_TRACE_ID: trace_id, "eda.io/client": tenant.client},
            "annotations": {ANNOTATION_TRACE_ID: trace_id},
        },
    });
    merge_into(&mut spec, chart);
    object(HELM_RELEASE, release, json!({"spec": spec}))
}

/// The HelmRepository or OCIRepository a repository or OCI chart comes from; `None` for a
/// local chart, which comes from the configured GitRepository.
pub fn source_for(release: &Release, settings: &FluxSettings) -> Option<DynamicObject> {
    match release.chart.source() {
        ChartSource::Path(_) => None,
        ChartSource::Repo { url, .. } => Some(object(
            HELM_REPOSITORY,
            release,
            json!({"spec": {"url": url, "interval": settings.interval}}),
        )),
        ChartSource::Oci(reference) => Some(object(
            OCI_REPOSITORY,
            release,
            json!({"spec": {
                "url": reference,
                "interval": settings.interval,
                "ref": {"tag": release.chart.version},
                "layerSelector": {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                                  "operation": "copy"},
            }}),
        )),
    }
}

fn object(kind: (&str, &str, &str, &str), release: &Release, data: Value) -> DynamicObject {
    let tenant = &release.tenant;
    let mut object = DynamicObject::new(&tenant.release, &resource(kind)).within(&tenant.namespace);
    object.metadata.labels = Some(tenant_labels(tenant));
    object.metadata.annotations = Some(trace_annotation(tenant));
    object.data = data;
    object
}

fn merge_into(target: &mut Value, from: Value) {
    if let (Some(target), Value::Object(from)) = (target.as_object_mut(), from) {
        target.extend(from);
    }
}

#[cfg(test)]
mod tests;
