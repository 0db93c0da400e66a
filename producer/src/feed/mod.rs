//! The live status of traces: a tap on every event ([`tap`]) feeding a bounded cache of
//! timelines ([`cache`]) that the timeline endpoint reads and the SSE streams follow, and the
//! tenants page follows as [`change`]s.

pub mod cache;
pub mod change;
pub mod entry;
pub mod live;
pub mod tap;

pub use cache::TraceCache;
pub use change::TenantChange;
pub use entry::TimelineEntry;
