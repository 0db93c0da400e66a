//! Rights in a tenant namespace: RoleBindings there, written by the provisioner — `eda-provisioner`
//! of the tenant role (`<release>-tenant-deployer`) to its own identity, whose standing rights
//! hold nothing in any namespace, and `eda-k8s-event-exporter` of the reader role
//! (`<release>-tenant-reader`) to the exporter's, which reads pods only there.

use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};

use super::baseline_meta;
use crate::order::Tenant;

/// The name of the provisioner's RoleBinding in every tenant namespace.
pub const GRANT_NAME: &str = "eda-provisioner";
/// The name of the exporter's RoleBinding in every tenant namespace.
pub const READER_GRANT_NAME: &str = "eda-k8s-event-exporter";

/// One RoleBinding of a tenant namespace: its name, the ClusterRole and whom it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub name: String,
    /// The ClusterRole bound in each tenant namespace (`--tenant-role`).
    pub role: String,
    /// The provisioner's identity (`--subject`): `system:serviceaccount:<ns>:<name>` or a user.
    pub subject: String,
}

impl Grant {
    /// The subject as RBAC writes it: a ServiceAccount for `system:serviceaccount:…`, else a User.
    pub fn rbac_subject(&self) -> Subject {
        match self.subject.strip_prefix("system:serviceaccount:").and_then(|rest| rest.split_once(':')) {
            Some((namespace, name)) => Subject {
                kind: "ServiceAccount".into(),
                name: name.into(),
                namespace: Some(namespace.into()),
                ..Subject::default()
            },
            None => Subject {
                kind: "User".into(),
                name: self.subject.clone(),
                api_group: Some("rbac.authorization.k8s.io".into()),
                ..Subject::default()
            },
        }
    }
}

/// The RoleBinding of a grant in the tenant's namespace.
pub fn role_binding_for(tenant: &Tenant, grant: &Grant) -> RoleBinding {
    let mut metadata = baseline_meta(tenant);
    metadata.name = Some(grant.name.clone());
    RoleBinding {
        metadata,
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: grant.role.clone(),
        },
        subjects: Some(vec![grant.rbac_subject()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_account_subject_becomes_a_service_account_and_anything_else_a_user() {
        let grant =
            |subject: &str| Grant { name: GRANT_NAME.into(), role: "r".into(), subject: subject.into() };
        let sa = grant("system:serviceaccount:eda:eda-provisioner").rbac_subject();
        assert_eq!(
            (sa.kind.as_str(), sa.name.as_str(), sa.namespace.as_deref()),
            ("ServiceAccount", "eda-provisioner", Some("eda"))
        );
        let user = grant("admin").rbac_subject();
        assert_eq!((user.kind.as_str(), user.name.as_str(), user.namespace), ("User", "admin", None));
    }

    #[test]
    fn the_binding_lives_in_the_tenant_namespace_and_binds_the_tenant_role() {
        let tenant = crate::objects::tests::order("development", "classic").tenant;
        let grant = Grant {
            name: GRANT_NAME.into(),
            role: "eda-tenant-deployer".into(),
            subject: "system:serviceaccount:eda:p".into(),
        };
        let binding = role_binding_for(&tenant, &grant);
        assert_eq!(binding.metadata.namespace.as_deref(), Some(tenant.namespace.as_str()));
        assert_eq!(binding.metadata.name.as_deref(), Some(GRANT_NAME));
        assert_eq!(
            (binding.role_ref.kind.as_str(), binding.role_ref.name.as_str()),
            ("ClusterRole", "eda-tenant-deployer")
        );
    }
}
