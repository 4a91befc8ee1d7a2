//! What a Kubernetes target reports to the panes: its StatefulSets' rollouts, its
//! PersistentVolumeClaims with usage, and its VolumeSnapshots — one figure per target.

use serde::{Deserialize, Serialize};

use crate::sources::{PodStatus, SnapshotStatus};
use crate::text::DisplayText;

/// One namespace of one Kubernetes target, as its watches last saw it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KubeSnapshot {
    pub namespace: DisplayText,
    /// In name order.
    pub statefulsets: Vec<RolloutStatus>,
    /// Claims in trouble first (not Bound, or filling), then by name.
    pub volumes: Vec<ClaimStatus>,
    /// Newest first.
    pub snapshots: Vec<SnapshotStatus>,
}

/// A StatefulSet's rollout: readiness, revisions and partition, and its pods that are
/// not ready.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RolloutStatus {
    pub name: DisplayText,
    /// Desired replicas (`spec.replicas`).
    pub replicas: u32,
    pub ready: u32,
    /// Pods already on the update revision.
    pub updated: u32,
    pub current_revision: DisplayText,
    pub update_revision: DisplayText,
    pub partition: u32,
    /// Pods of this StatefulSet not ready (or waiting on a reason), by name.
    pub unready: Vec<PodStatus>,
}

impl RolloutStatus {
    /// Whether pods are still being moved to the update revision.
    pub fn rolling(&self) -> bool {
        self.current_revision != self.update_revision
    }
}

/// One PersistentVolumeClaim: its phase, size and, when the kubelet reported it, usage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimStatus {
    pub name: DisplayText,
    /// `Bound`, `Pending` or `Lost`.
    pub phase: DisplayText,
    /// From the kubelet when known, else the claim's status capacity (0: unknown).
    pub capacity_bytes: u64,
    /// From the kubelet's stats summary; `None` until a node reported it.
    pub used_bytes: Option<u64>,
    /// Bytes per second between the last two usage readings; negative when shrinking.
    pub growth_bytes_per_sec: f64,
    /// The pod that mounts it, if any.
    pub pod: Option<DisplayText>,
}

impl ClaimStatus {
    pub fn bound(&self) -> bool {
        self.phase.as_str() == "Bound"
    }

    /// Used over capacity, when both are known.
    pub fn ratio(&self) -> Option<f64> {
        match self.used_bytes {
            Some(used) if self.capacity_bytes > 0 => Some(used as f64 / self.capacity_bytes as f64),
            _ => None,
        }
    }
}
