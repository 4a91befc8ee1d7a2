//! Prometheus: the HTTP API client, the source task that reads volume usage for the
//! Storage pane, and the `promql` check with the judge of its samples.

pub mod check;
pub mod client;
pub mod figures;
pub mod judge;
pub mod source;
