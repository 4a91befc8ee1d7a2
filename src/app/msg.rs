//! Messages into `update` and commands out of it. Time only ever arrives in a message.

use crate::action::Action;
use crate::config::keymap::KeyChord;
use crate::sources::Observation;
use crate::sources::sim::DrillCommand;
use crate::time::Timestamp;

/// Where an action came from; recorded with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionSource {
    /// The key sequence that produced it, e.g. `g g`.
    Key(String),
    Palette,
    /// The system itself (signals, startup).
    System,
}

impl ActionSource {
    pub fn label(&self) -> String {
        match self {
            ActionSource::Key(k) => format!("key {k}"),
            ActionSource::Palette => "palette".to_string(),
            ActionSource::System => "system".to_string(),
        }
    }
}

// Observations are the common message; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// The clock moved (1 Hz, and with every other message from the loop).
    Tick(Timestamp),
    Observation(Observation),
    /// A key, already normalised.
    Key(KeyChord),
    /// The terminal went away or a signal asked us to stop.
    Signal(&'static str),
}

/// Effects `update` asks the loop to carry out.
#[derive(Clone, Debug, PartialEq)]
pub enum Cmd {
    Quit,
    Drill(DrillCommand),
}

/// An action with its source, as the one dispatch point receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Dispatched {
    pub action: Action,
    pub source: ActionSource,
}
