//! A scenario's objectives and their live score: what the responders were to achieve
//! (`[[objective]]`), judged from the world's own state, final when the drill ends.

pub use crate::sources::score::{ObjectiveState, ObjectiveStatus};
