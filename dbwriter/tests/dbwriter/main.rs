//! dbwriter against the real RabbitMQ and PostgreSQL (and the three-node cluster), one prefix and
//! one database per test.

mod bad_messages;
mod cluster;
mod deployments;
mod helpers;
mod idempotency;
mod migrations;
mod outages;
mod shutdown;
