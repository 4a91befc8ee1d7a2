//! A run hosted: the session that wires plan, store journal, lease and actuators around
//! one actor; the runner's loop that takes requests from the store; what it publishes.

pub mod actuators;
pub mod audit;
pub mod bus;
pub mod drill;
pub mod gate;
pub mod host;
pub mod session;
pub mod store_journal;

pub use actuators::RunActuators;
