//! eda-common against the real RabbitMQ: publishing, the consumer runtime, retries,
//! dead-lettering, reconnects, graceful stop, topology.

mod helpers;

mod batches;
mod dead_letters;
mod foreign_topology;
mod publishing;
mod reconnect;
mod retries;
mod topology;
