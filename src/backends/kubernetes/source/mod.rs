//! The Kubernetes source: one task per target watches its namespace (StatefulSets, pods,
//! claims, snapshots, events) into a lean cache and reports one figure per target.

pub mod cache;
pub mod fault;
pub mod rows;
pub mod stats;
pub mod table;
pub mod task;
pub mod watches;

use std::time::Duration;

pub use task::{COALESCE, spawn};

use crate::plan::Target;

/// One Kubernetes target to watch: its plan or console declaration (kubeconfig `url`,
/// `context`, `namespace`), how often usage is read, and the timeout of every call.
#[derive(Clone, Debug)]
pub struct KubeTarget {
    pub target: Target,
    pub interval: Duration,
    pub timeout: Duration,
}

impl KubeTarget {
    pub fn name(&self) -> &str {
        &self.target.name
    }

    /// `context shop-prod, namespace orders` as far as the declaration says: for messages.
    pub fn describe(&self) -> String {
        let t = &self.target;
        let mut parts = Vec::new();
        if let Some(url) = &t.url {
            parts.push(format!("kubeconfig {}", url.origin()));
        }
        if let Some(c) = &t.context {
            parts.push(format!("context {c}"));
        }
        if let Some(n) = &t.namespace {
            parts.push(format!("namespace {n}"));
        }
        if parts.is_empty() {
            "current kubeconfig context".into()
        } else {
            parts.join(", ")
        }
    }
}
