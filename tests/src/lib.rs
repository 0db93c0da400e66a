//! eda test harness: a fresh topology prefix and a fresh database per test, and test
//! fixtures: the real test control plane (with a fake kubelet) and, for faults a real server
//! will not produce on demand, a Kubernetes API test server.
//!
//! Everything here is for tests only; none of it ships in a service.

pub mod broker;
pub mod captured;
#[cfg(feature = "kube")]
pub mod control_plane;
pub mod db;
#[cfg(feature = "kube")]
pub mod kube_api;
pub mod order_load;
pub mod otlp;
pub mod own_postgres;
pub mod rabbit_cluster;
pub mod tools;
