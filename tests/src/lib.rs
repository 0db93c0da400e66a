//! eda test harness: a fresh topology prefix and a fresh database per test, and test
//! fixtures (a Kubernetes API test server, a stand-in helm) that stand in for a cluster.
//!
//! Everything here is for tests only; none of it ships in a service.

pub mod broker;
pub mod db;
#[cfg(feature = "kube")]
pub mod kube_api;
