//! The one door: every action's audit intent (with its request row for a runner, in one
//! transaction), request delivery, and following what the runner did. TUI and headless use it.

pub mod door;
pub mod follow;
pub mod presence;
pub mod recorder;

pub use door::{AUDIT_BACK, BusLink, Delivery, dispatch_applied, dispatch_recorded};
pub use recorder::Recorder;
