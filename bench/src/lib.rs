//! eda-bench: a PerfTest-style load generator for the eda runtime and the measurements
//! (rates, latency percentiles) its reports are built from.

pub mod faults;
pub mod latency;
pub mod loadgen;
