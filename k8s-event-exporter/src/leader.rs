//! Leader election on a Lease: only the holder watches and publishes. The election itself is
//! shared with the provisioner's reconciler (`eda_common::lease`).

pub use eda_common::lease::{Election, LeaseError, LeaseSettings};
