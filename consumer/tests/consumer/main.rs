//! The consumer against the real RabbitMQ: the engine with command and webhook handlers, the
//! log tap, the legacy bridge, the dead-letter tools, the examples, and the command line.

mod helpers;

mod bridge;
mod cli;
mod dlq;
mod engine;
mod examples;
mod log_tap;
mod topology_check;
mod webhook;
