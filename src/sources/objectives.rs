//! A drill's objectives as scored so far: the payload of the drill's score source, here
//! with the other payloads so `app` and the panes read it without reaching into `sim`.

use serde::{Deserialize, Serialize};

/// One objective as scored so far (world times in milliseconds since the drill began).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveStatus {
    /// The objective's name in the scenario, e.g. `paused-before-90`.
    pub name: String,
    /// Its kind: `paused_before`, `recovered_within`, `no_data_loss`, `never`,
    /// `time_to_first_action`.
    pub kind: String,
    /// One line saying what it asks, for the facilitator and the report.
    pub description: String,
    pub state: ObjectiveState,
    /// Set once the drill has ended: the state can no longer change.
    pub fin: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ObjectiveState {
    /// Not decided yet.
    Pending,
    /// Achieved at world time `at_ms`.
    Met { at_ms: u64, detail: String },
    /// Failed at world time `at_ms`.
    Missed { at_ms: u64, detail: String },
}
