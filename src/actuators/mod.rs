//! What steps do: the actuators that carry out a plan's steps on their targets — the
//! drill world (`sim`), PostgreSQL (`pg`), HTTP and Kubernetes (`kube`), routed by `run`.

pub mod backends;
pub mod effects;
pub mod http;
pub mod kube;
pub mod pg;
pub mod prom;
pub mod real;
pub mod run;
pub mod sim;
pub mod sim_bind;
pub mod sim_checks;
pub mod sim_pg;
pub mod sim_sql;
pub mod volume_usage;

pub use backends::{Backends, Effect};
pub use effects::{EffectLog, MemEffects};
pub use real::RealBackends;
pub use run::{RunActuators, Steering};
pub use sim::SimWorld;
