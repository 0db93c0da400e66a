//! helm/eda on the real test control plane (`scripts/kube/control-plane.sh`: etcd,
//! kube-apiserver 1.20 with RBAC, controller-manager, scheduler, the fake-kubelet fixture),
//! with the real helm 4 and kubectl: the chart installed and uninstalled, and its RBAC enforced
//! by the real authorizer while the provisioner and the exporter run in-process under the
//! chart's ServiceAccounts. Each test has its own release name (so its own ClusterRoles and
//! ClusterRoleBindings) and namespaces, derived from a fresh prefix, and removes them however
//! it ends.
//!
//! What this control plane cannot prove: NetworkPolicies are stored but not enforced (no CNI
//! plugin runs), and Kubernetes 1.20 has no PodSecurity admission, so the tenants'
//! `pod-security.kubernetes.io/*` labels are inert here.

mod at_work;
mod can_i;
mod install;
mod refusals;
mod release;
mod service_accounts;
