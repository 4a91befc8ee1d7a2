//! What steps do: the actuators that carry out a plan's steps on their targets — the
//! drill world (`sim`, with `sim_kube` and `sim_http` standing in for real targets), PostgreSQL
//! (`pg`), HTTP and Kubernetes (`kube`), routed by `run`.

pub mod effects;
pub mod http;
pub mod kube;
pub mod pg;
pub mod prom;
pub mod run;
pub mod sim;
pub mod sim_checks;
pub mod sim_http;
pub mod sim_kube;
pub mod volume_usage;

pub use effects::{EffectLog, MemEffects};
pub use run::{RunActuators, Steering};
pub use sim::SimWorld;
