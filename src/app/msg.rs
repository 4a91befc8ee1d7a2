//! Messages into `update` and commands out of it. Time only ever arrives in a message.

use crate::action::Action;
use crate::config::keymap::KeyChord;
use crate::engine::{EngineEvent, Verb};
use crate::sim::source::DrillCommand;
use crate::sources::Observation;
use crate::time::Timestamp;

/// Where an action came from; recorded with it.
#[derive(Clone, Debug, PartialEq, Eq)]
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
#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// The clock moved (1 Hz, and with every other message from the loop).
    Tick(Timestamp),
    Observation(Observation),
    /// A key, already normalised.
    Key(KeyChord),
    /// Text the terminal delivered as one bracketed paste: it goes to the focused text
    /// field only, never to the keymap.
    Paste(String),
    /// The terminal went away or a signal asked us to stop.
    Signal(&'static str),
    /// From the run's engine.
    Engine(EngineEvent),
}

/// What the console asks of the run's engine; the operator is attached by dispatch.
#[derive(Clone, Debug, PartialEq)]
pub enum EngineRequest {
    Verb {
        verb: Verb,
        by: String,
    },
    /// Confirms the manual step with this index.
    Confirm {
        step: usize,
        by: String,
    },
    /// Allows what the step in flight asked (deleting a stuck pod), with the word the
    /// responder typed.
    Answer {
        step: usize,
        typed: String,
        by: String,
    },
    /// Halve (`larger: false`) or double the batch size of the running batched step,
    /// from its next batch on.
    BatchSize {
        larger: bool,
        by: String,
    },
    /// The console is going away: pause at the next safe point and stop driving.
    Detach {
        reason: String,
    },
}

impl EngineRequest {
    /// The action name it carries out, for the audit record of what became of it.
    pub fn action_name(&self) -> String {
        match self {
            EngineRequest::Verb { verb, .. } => format!("run.{}", verb.name()),
            EngineRequest::Confirm { .. } | EngineRequest::Answer { .. } => "run.confirm".into(),
            EngineRequest::BatchSize { larger: true, .. } => "run.batch.larger".into(),
            EngineRequest::BatchSize { larger: false, .. } => "run.batch.smaller".into(),
            EngineRequest::Detach { .. } => "run.detach".into(),
        }
    }
}

/// Effects `update` asks the loop to carry out.
#[derive(Clone, Debug, PartialEq)]
pub enum Cmd {
    Quit,
    Drill(DrillCommand),
    Engine(EngineRequest),
    /// A responder's note, to be recorded in the audit log.
    Note(String),
}

/// An action with its source, as the one dispatch point receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Dispatched {
    pub action: Action,
    pub source: ActionSource,
}
