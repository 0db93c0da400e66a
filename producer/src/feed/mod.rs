//! The live status of traces: a tap on every event ([`tap`]) feeding a bounded cache of
//! timelines ([`cache`]) that the timeline endpoint reads and the SSE streams follow.

pub mod cache;
pub mod entry;
pub mod tap;

pub use cache::TraceCache;
pub use entry::TimelineEntry;
