//! The k8s-event-exporter against the real RabbitMQ and the real Kubernetes test control plane
//! (`scripts/kube/control-plane.sh`: etcd, kube-apiserver 1.20 with RBAC, controller-manager,
//! scheduler and the fake-kubelet TEST FIXTURE): publishing, the events the real controllers
//! write, deduplication across restarts and a 410 after etcd compaction, leader election on a
//! real Lease (hand-over and a killed leader), broker outages.
//!
//! A few tests stay on the in-process Kubernetes API fixture (`KubeApiTestServer`), each
//! saying why: what a real API server will not do on demand — stop serving events.k8s.io,
//! answer 409 to one chosen request — and the RBAC check that needs every request recorded.
//!
//! Tests share the control plane; each keeps to its own namespaces (see `helpers`). The etcd
//! compaction test runs alone (`.config/nextest.toml`, test group `etcd-compaction`).

mod helpers;
mod proxy;

mod controllers;
mod election;
mod outage;
mod publishing;
mod rbac;
mod resume;
