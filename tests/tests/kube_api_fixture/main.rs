//! Proves the Kubernetes API test fixture with kube-rs itself: what the provisioner and
//! the k8s-event-exporter will do against it must behave as against a real API server.
#![cfg(feature = "kube")]

mod clients;
mod failures;
mod helpers;
mod watches;
mod writes;
