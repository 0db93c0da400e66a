//! eda-common against the real RabbitMQ: publishing, the consumer runtime, retries,
//! dead-lettering, reconnects, graceful stop, topology; several brokers and a cluster.

mod helpers;

mod batches;
mod cluster;
mod dead_letters;
mod foreign_topology;
mod publishing;
mod reconnect;
mod retries;
mod topology;
