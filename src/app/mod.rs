//! The console's state and its pure update: `Model` holds everything the screen shows,
//! `update` applies a `Msg`, and `dispatch` is the one door every `Action` goes through.

pub mod clip;
pub mod confirm;
pub mod dispatch;
pub mod effect;
pub mod facilitate;
pub mod filter;
pub mod ingress;
pub mod input;
pub mod intent;
pub mod model;
pub mod msg;
pub mod note;
pub mod palette;
pub mod paste;
pub mod rows;
pub mod team;
pub mod update;

pub use dispatch::dispatch;
pub use input::{on_key, resolve_key};
pub use model::{DrillState, Figure, Layer, Model, PaneId, TimelineEntry, TimelineKind};
pub use msg::{ActionSource, Cmd, Dispatched, DoorEffect, EngineRequest, Msg};
pub use team::{Attached, PendingApproval, Role, RunnerSeen, Team, TeamSeen};
pub use update::update;
