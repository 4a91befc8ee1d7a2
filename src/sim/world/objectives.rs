//! A scenario's objectives and their live score: what the responders were to achieve
//! (`[[objective]]`), judged by `score` from the world's own state, final when the drill ends.

/// The status types live with the payloads (`sources`, a lower layer); named here too.
pub use crate::sources::objectives::{ObjectiveState, ObjectiveStatus};
