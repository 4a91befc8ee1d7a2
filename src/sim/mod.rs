//! The drill world and everything that acts on it or reads it: the world itself, its
//! source task, the `sim.*` actuators and checks, and the markers of their effects.

pub mod actuators;
pub mod bind;
pub mod checks;
pub mod effects;
pub mod http;
pub mod kubernetes;
pub mod postgres;
pub mod source;
pub mod sql;
pub mod world;
