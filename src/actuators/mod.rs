//! What steps do: the actuators that carry out a plan's steps on their targets. In this
//! release the drill world (`sim`); manual, wait and verify steps work on any target.

pub mod effects;
pub mod pg;
pub mod sim;
pub mod sim_checks;

pub use effects::{EffectLog, MemEffects};
pub use sim::SimActuators;
