//! The k8s-event-exporter against the real RabbitMQ and the Kubernetes API test fixture:
//! publishing, deduplication across relists and restarts, leader election, broker outages,
//! and the RBAC rules the chart ships.

mod helpers;

mod election;
mod outage;
mod publishing;
mod rbac;
mod resume;
