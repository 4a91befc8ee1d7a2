//! Reaching a Kubernetes target: the kubeconfig resolved as kubectl resolves it, and the
//! plan's `KIND/NAME` object references mapped to the API resources they name.

pub mod connect;
pub mod object;

pub use connect::{ConnectError, Connected, connect};
pub use object::{ObjectRef, Resource};
