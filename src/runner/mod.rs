//! A run put together: the actuators that route each step and check of a run to its
//! backend or the drill world, the run's journal on the store, and the session that starts runs.

pub mod actuators;
pub mod session;
pub mod store_journal;

pub use actuators::RunActuators;
