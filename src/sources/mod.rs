//! What the panes show: the `Observation`s (a payload plus the time it was observed) that
//! each source task sends; the tasks live with their backend (`backends`) or in `sim`.

pub mod kube;
pub mod objectives;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::text::DisplayText;
use crate::time::Timestamp;

/// Which source an observation came from, e.g. `sim:db` or `pg:orders`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceId(pub String);

impl SourceId {
    /// The target's name without the source kind: `orders` for `pg:orders`.
    pub fn target(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(_, name)| name)
    }
}

/// One reading of one source, stamped with when it was taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub source: SourceId,
    pub at: Timestamp,
    /// How often this source reports; a figure older than two intervals is stale.
    pub interval: Duration,
    pub payload: Payload,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Payload {
    Replication(ReplicationSnapshot),
    Storage(StorageSnapshot),
    Migrations(MigrationSnapshot),
    App(AppSnapshot),
    /// Things that happened since the last observation, oldest first.
    Events(Vec<SourceEvent>),
    /// The source could not observe its target; earlier figures stay, ageing.
    Error(DisplayText),
    /// A Kubernetes target's namespace: StatefulSet rollouts, claims, snapshots.
    Kube(self::kube::KubeSnapshot),
    /// A drill's objectives as scored so far (the drill world's score source).
    Objectives(Vec<self::objectives::ObjectiveStatus>),
}

impl Payload {
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Replication(_) => "replication",
            Payload::Storage(_) => "storage",
            Payload::Migrations(_) => "migrations",
            Payload::App(_) => "app",
            Payload::Events(_) => "events",
            Payload::Error(_) => "error",
            Payload::Kube(_) => "kube",
            Payload::Objectives(_) => "objectives",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicationSnapshot {
    pub primary: DisplayText,
    /// WAL written per second on the primary.
    pub wal_bytes_per_sec: f64,
    pub replicas: Vec<ReplicaStatus>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicaState {
    Streaming,
    Catchup,
    /// Connected but not applying (apply stall, replay paused).
    Stalled,
    Disconnected,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    pub name: DisplayText,
    pub state: ReplicaState,
    /// Replay lag in time; `None` means idle: nothing outstanding, which is not the same as 0.
    pub time_lag: Option<Duration>,
    /// WAL bytes written on the primary and not yet replayed here.
    pub byte_lag: u64,
    pub replay_paused: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StorageSnapshot {
    pub volumes: Vec<VolumeStatus>,
    pub slots: Vec<SlotStatus>,
    pub snapshots: Vec<SnapshotStatus>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeStatus {
    pub name: DisplayText,
    /// What uses it, e.g. `orders-db-0 data+wal`.
    pub owner: DisplayText,
    pub used_bytes: u64,
    pub capacity_bytes: u64,
    /// Bytes per second, negative when shrinking.
    pub growth_bytes_per_sec: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlotStatus {
    pub name: DisplayText,
    pub active: bool,
    /// WAL kept on the primary for this slot.
    pub retained_bytes: u64,
    /// `reserved`, `extended`, `unreserved` or `lost`, as PostgreSQL reports it.
    pub wal_status: DisplayText,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnapshotState {
    Pending,
    Ready,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotStatus {
    pub name: DisplayText,
    pub volume: DisplayText,
    pub state: SnapshotState,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MigrationSnapshot {
    /// Current schema version of the database, e.g. `0042`.
    pub schema_version: DisplayText,
    pub migrations: Vec<MigrationStatus>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MigrationPhase {
    Running,
    /// Held by itself; `throttle` says why.
    Throttled,
    Paused,
    Failed,
    Done,
    RolledBack,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MigrationStatus {
    pub name: DisplayText,
    pub phase: MigrationPhase,
    pub rows_done: u64,
    pub rows_total: u64,
    /// Rows per second over the last observation window.
    pub rows_per_sec: f64,
    pub batch_size: u64,
    /// The first reason it is held, as gh-ost names it.
    pub throttle: Option<DisplayText>,
    /// Last error, when failed.
    pub error: Option<DisplayText>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppSnapshot {
    pub statefulset: DisplayText,
    pub replicas: u32,
    pub ready: u32,
    pub current_revision: DisplayText,
    pub update_revision: DisplayText,
    pub partition: u32,
    /// Fraction of requests failing, 0.0–1.0.
    pub error_rate: f64,
    pub pods: Vec<PodStatus>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PodStatus {
    pub name: DisplayText,
    pub revision: DisplayText,
    pub phase: DisplayText,
    pub ready: bool,
    pub restarts: u32,
    /// Waiting reason such as `CrashLoopBackOff`.
    pub reason: Option<DisplayText>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    Info,
    Warn,
    Crit,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceEvent {
    pub at: Timestamp,
    pub severity: Severity,
    pub text: DisplayText,
}
