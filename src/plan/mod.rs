//! Rollback plans. For now only the outline the Plan pane shows (name, steps, kinds);
//! the full typed model, validation and digest arrive with the engine.

pub mod outline;

pub use outline::{PlanOutline, StepMark, StepOutline};
