//! Integration tests of the provisioner: the real service in-process, the real RabbitMQ, the
//! Kubernetes API test fixture and the stand-in helm executable (test fixture).

mod api_faults;
mod cancel;
#[cfg(eda_e2e)]
mod e2e;
mod flux;
mod helm;
mod helpers;
mod plan;
mod rbac;
mod validation;
