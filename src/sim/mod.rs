//! The drill world and everything that acts on it or reads it: the world itself, its
//! source task, the actuators and checks a plan's targets bind to (`bind`), the markers of
//! their effects, and the world's own series with the PromQL subset that reads them.

pub mod actuators;
pub mod bind;
pub mod checks;
pub mod effects;
pub mod facilitate;
pub mod http;
pub mod kubernetes;
pub mod postgres;
pub mod prom;
pub mod promql;
pub mod series;
pub mod source;
pub mod sql;
pub mod world;
