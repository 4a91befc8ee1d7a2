//! The run executor: a state machine for runs (`state`), the journal that makes every
//! transition durable before its effect, and the actor that drives actuators.

pub mod actor;
pub mod actuator;
pub mod backends;
pub mod journal;
pub mod pre_image;
pub mod request;
pub mod state;

pub use actor::{Actor, Command, EngineEvent, ExecPolicy, RunView, StepView};
pub use actuator::{
    Actuators, Ask, AskCell, Asking, BatchFigures, CheckOutcome, Ended, Failure, Meter, Probe,
    Progress, StopSignal,
};
pub use backends::{Backends, Effect, Steering};
pub use journal::{Journal, MemJournal, Record, replay};
pub use pre_image::PreImageLog;
pub use request::EngineRequest;
pub use state::{
    Direction, Final, Landed, OnFailure, PauseReason, RunState, Status, StepInfo, StepStatus, Verb,
};
