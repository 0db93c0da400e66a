//! The tenant's default-deny NetworkPolicy: nothing in or out, except DNS, traffic between
//! the namespace's own pods and, for a product with a database, the tenant database.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::baseline_meta;
use crate::database::DatabaseEgress;
use crate::order::Order;

/// Default-deny ingress and egress for every pod of the namespace, then three allowances:
/// from and to pods of the same namespace, and DNS (UDP and TCP 53) to kube-dns in kube-system;
/// and a fourth with `database`: TCP to the tenant database's address block or pods.
pub fn network_policy_for(order: &Order, database: Option<&DatabaseEgress>) -> NetworkPolicy {
    let same_namespace =
        NetworkPolicyPeer { pod_selector: Some(LabelSelector::default()), ..Default::default() };
    let kube_dns = NetworkPolicyPeer {
        namespace_selector: Some(match_labels("kubernetes.io/metadata.name", "kube-system")),
        pod_selector: Some(match_labels("k8s-app", "kube-dns")),
        ..Default::default()
    };
    let dns_port = |protocol: &str| NetworkPolicyPort {
        protocol: Some(protocol.into()),
        port: Some(IntOrString::Int(53)),
        ..Default::default()
    };
    NetworkPolicy {
        metadata: baseline_meta(&order.tenant),
        spec: Some(NetworkPolicySpec {
            // An empty selector selects every pod of the namespace.
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![same_namespace.clone()]),
                ..Default::default()
            }]),
            egress: Some(
                [
                    NetworkPolicyEgressRule { to: Some(vec![same_namespace]), ..Default::default() },
                    NetworkPolicyEgressRule {
                        to: Some(vec![kube_dns]),
                        ports: Some(vec![dns_port("UDP"), dns_port("TCP")]),
                    },
                ]
                .into_iter()
                .chain(database.map(database_rule))
                .collect(),
            ),
        }),
    }
}

/// TCP to the database: its address block, or its namespace's and pods' labels.
fn database_rule(database: &DatabaseEgress) -> NetworkPolicyEgressRule {
    let selector = |labels: &Option<Vec<(String, String)>>| {
        labels
            .as_ref()
            .map(|l| LabelSelector { match_labels: Some(l.iter().cloned().collect()), ..Default::default() })
    };
    let peer = NetworkPolicyPeer {
        ip_block: database.cidr.as_ref().map(|cidr| IPBlock { cidr: cidr.clone(), except: None }),
        namespace_selector: selector(&database.namespace_labels),
        pod_selector: selector(&database.pod_labels),
    };
    NetworkPolicyEgressRule {
        to: Some(vec![peer]),
        ports: Some(vec![NetworkPolicyPort {
            protocol: Some("TCP".into()),
            port: Some(IntOrString::Int(i32::from(database.port))),
            ..Default::default()
        }]),
    }
}

fn match_labels(key: &str, value: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(key.to_string(), value.to_string())])),
        ..Default::default()
    }
}
