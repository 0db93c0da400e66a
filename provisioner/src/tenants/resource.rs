//! The Tenant as a Kubernetes object, so that `kube::Api` lists, watches and writes it.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::ClusterResourceScope;
use serde::{Deserialize, Serialize};

use super::spec::{TenantSpec, TenantStatus};

pub const GROUP: &str = "eda.io";
pub const VERSION: &str = "v1alpha1";
pub const KIND: &str = "Tenant";
pub const PLURAL: &str = "tenants";

/// The `traceparent` of the span that recorded the newest order, so the reconciler's spans
/// nest under it (only while spans are exported; absent otherwise).
pub const ANNOTATION_TRACEPARENT: &str = "eda.io/traceparent";

/// One `Tenant` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantResource {
    #[serde(default = "api_version")]
    pub api_version: String,
    #[serde(default = "kind")]
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: TenantSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TenantStatus>,
}

fn api_version() -> String {
    format!("{GROUP}/{VERSION}")
}

fn kind() -> String {
    KIND.into()
}

impl TenantResource {
    pub fn new(name: String, labels: std::collections::BTreeMap<String, String>, spec: TenantSpec) -> Self {
        TenantResource {
            api_version: api_version(),
            kind: kind(),
            metadata: ObjectMeta { name: Some(name), labels: Some(labels), ..ObjectMeta::default() },
            spec,
            status: None,
        }
    }

    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    /// The `traceparent` of the span that recorded the newest order (`eda.io/traceparent`).
    pub fn order_span(&self) -> Option<&str> {
        self.metadata.annotations.as_ref()?.get(ANNOTATION_TRACEPARENT).map(String::as_str)
    }

    pub fn status(&self) -> TenantStatus {
        self.status.clone().unwrap_or_default()
    }
}

impl kube::Resource for TenantResource {
    type DynamicType = ();
    type Scope = ClusterResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        KIND.into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        GROUP.into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        VERSION.into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        PLURAL.into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}
