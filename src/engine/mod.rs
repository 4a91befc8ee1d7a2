//! The run executor: a state machine for runs (`state`), the journal that makes every
//! transition durable before its effect, and the actor that drives actuators.

pub mod state;
