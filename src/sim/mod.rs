//! The drill's simulated backends: series sampled from the world, a PromQL subset over them,
//! and the Prometheus the drill's checks query instead of a real one.

pub mod prom;
pub mod promql;
pub mod series;
