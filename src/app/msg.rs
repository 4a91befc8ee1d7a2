//! Messages into `update` and commands out of it. Time only ever arrives in a message.

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::engine::EngineEvent;
use crate::sim::source::DrillCommand;
use crate::sources::Observation;
use crate::time::Timestamp;

/// Where an action came from; recorded with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionSource {
    /// The key sequence that produced it, e.g. `g g`.
    Key(String),
    Palette,
    /// A control line read by headless mode.
    Headless(String),
    /// The system itself (signals, startup).
    System,
}

impl ActionSource {
    pub fn label(&self) -> String {
        match self {
            ActionSource::Key(k) => format!("key {k}"),
            ActionSource::Palette => "palette".to_string(),
            ActionSource::Headless(line) => format!("line {line:?}"),
            ActionSource::System => "system".to_string(),
        }
    }
}

// Observations are the common message; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Msg {
    /// The clock moved (1 Hz, and with every other message from the loop).
    Tick(Timestamp),
    Observation(Observation),
    /// Text the terminal delivered as one bracketed paste: it goes to the focused text
    /// field only, never to the keymap.
    Paste(String),
    /// The terminal went away or a signal asked us to stop.
    Signal(String),
    /// From the run's engine.
    Engine(EngineEvent),
    /// Who is attached to the run a runner drives, and whether its runner is alive.
    Team(super::team::TeamSeen),
    /// The requests that wait for a second person, as the runner last published them.
    Approvals(Vec<super::team::PendingApproval>),
    /// Someone broke glass on the run (the user).
    BreakGlass(String),
    /// A drill's clock, faults and hidden sources, as its runner published them.
    Drill(crate::sim::facilitate::DrillSeen),
    /// A facilitator's note to every console.
    Announcement {
        by: String,
        text: String,
    },
    /// What the one door (`control`) or the loop did to the model for an action: every
    /// change to the model is a message, so a console's recording replays it.
    Door(DoorEffect),
    /// The console's recording stopped (its cap, or the store refused a write).
    RecordingStopped(String),
}

/// A change the door or the loop makes to the model, besides `update`'s own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DoorEffect {
    /// The action was applied to the model (`dispatch`), its intent on record.
    Dispatched(Dispatched),
    /// A one-line message for the responder, set now.
    Flash(String),
    /// Why the audit log cannot be written (`None`: it can again).
    AuditDown(Option<String>),
    /// Every layer closed (a refusal closes the confirm layer that asked).
    LayersCleared,
}

pub use crate::engine::EngineRequest;

/// Effects `update` asks the loop to carry out.
#[derive(Clone, Debug, PartialEq)]
pub enum Cmd {
    Quit,
    Drill(DrillCommand),
    /// A facilitator's request for the runner that hosts the drill.
    Facilitate(crate::sim::facilitate::FacilitatorRequest),
    Engine(EngineRequest),
    /// A responder's note, to be recorded in the audit log.
    Note(String),
}

/// An action with its source, as the one dispatch point receives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dispatched {
    pub action: Action,
    pub source: ActionSource,
}
