//! The real systems a plan acts on, one folder each: its target, client, source task,
//! actuators and checks. `source` starts the source task of a watched target of any kind.

pub mod http;
pub mod kubernetes;
pub mod postgres;
pub mod prometheus;
pub mod real;
pub mod source;

pub use real::RealBackends;
