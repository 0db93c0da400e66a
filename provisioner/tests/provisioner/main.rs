//! Integration tests of the provisioner: the real service in-process, the real RabbitMQ, the
//! real test control plane with the real helm; the Kubernetes API test fixture and the
//! stand-in helm executable (test fixtures) only for faults and records a real one lacks.

mod api_faults;
mod cancel;
mod database;
mod flux;
mod helm;
mod helpers;
mod lifecycle;
mod plan;
mod rbac;
mod replicas;
mod resync;
mod validation;
