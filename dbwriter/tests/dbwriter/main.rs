//! dbwriter against the real RabbitMQ and PostgreSQL, one prefix and one database per test.

mod bad_messages;
mod deployments;
mod helpers;
mod idempotency;
mod migrations;
mod outages;
mod shutdown;
