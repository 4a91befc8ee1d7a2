//! The scenario file exactly as written: serde structs with spans, unknown keys refused.
//! `check` turns them into a validated `Scenario`.

use serde::Deserialize;
use toml::Spanned;

use super::{BoundAction, Hazard, MigrationInitial, OutageSource, Recovery, SnapshotInitial};

pub(super) type S = Spanned<String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) scenario: RawMeta,
    pub(super) primary: RawPrimary,
    #[serde(default)]
    pub(super) replica: Vec<RawReplica>,
    #[serde(default)]
    pub(super) slot: Vec<RawSlot>,
    #[serde(default)]
    pub(super) volume: Vec<RawVolume>,
    #[serde(default)]
    pub(super) snapshot: Vec<RawSnapshot>,
    pub(super) app: RawApp,
    pub(super) migration: RawMigration,
    #[serde(default)]
    pub(super) fault: Vec<RawFault>,
    #[serde(default)]
    pub(super) bind: RawBind,
    #[serde(default)]
    pub(super) objective: Vec<RawObjective>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBind {
    #[serde(default)]
    pub(super) targets: std::collections::BTreeMap<String, S>,
    #[serde(default)]
    pub(super) statements: std::collections::BTreeMap<String, Spanned<BoundAction>>,
    #[serde(default)]
    pub(super) flags: std::collections::BTreeMap<String, S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMeta {
    pub(super) name: String,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) plan: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrimary {
    pub(super) name: String,
    pub(super) wal_rate: S,
    pub(super) max_wal_size: Option<S>,
    pub(super) max_slot_wal_keep_size: Option<S>,
    pub(super) volume: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReplica {
    pub(super) name: S,
    pub(super) apply_rate: S,
    pub(super) bandwidth: S,
    pub(super) volume: Option<S>,
    pub(super) slot: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlot {
    pub(super) name: S,
    pub(super) retained: S,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVolume {
    pub(super) name: S,
    pub(super) owner: String,
    pub(super) capacity: S,
    pub(super) used: S,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSnapshot {
    pub(super) name: String,
    pub(super) volume: S,
    pub(super) age: S,
    pub(super) state: SnapshotInitial,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApp {
    pub(super) statefulset: S,
    /// Prefix of the app's metric names (`<metrics>_requests_total`).
    pub(super) metrics: Option<S>,
    pub(super) replicas: Spanned<u32>,
    #[serde(default)]
    pub(super) partition: Option<Spanned<u32>>,
    pub(super) current_revision: S,
    pub(super) update_revision: S,
    pub(super) base_error_rate: Option<Spanned<f64>>,
    pub(super) revision: Vec<RawRevision>,
    #[serde(default)]
    pub(super) flag: Vec<RawFlag>,
    /// Ordinals of pods the controller leaves stuck on their revision while not Ready.
    pub(super) stuck_pods: Option<Vec<Spanned<u32>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRevision {
    pub(super) name: S,
    pub(super) version: String,
    pub(super) schemas: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFlag {
    pub(super) name: S,
    pub(super) enabled: bool,
    pub(super) requires_schema: Option<String>,
    pub(super) error_rate: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMigration {
    pub(super) name: String,
    pub(super) table: Option<String>,
    pub(super) columns: Option<Vec<String>>,
    pub(super) from_schema: String,
    pub(super) to_schema: String,
    pub(super) rows_total: u64,
    pub(super) rows_done: Option<Spanned<u64>>,
    pub(super) batch: Spanned<u64>,
    pub(super) rows_per_sec: Spanned<f64>,
    pub(super) bytes_per_row: S,
    pub(super) heap_bytes_per_row: Option<S>,
    pub(super) throttle_max_lag: S,
    pub(super) throttle_replicas: Option<Vec<S>>,
    pub(super) state: Option<MigrationInitial>,
    pub(super) max_retries: Option<u32>,
}

#[derive(Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawKind {
    ReplicaApplyStall,
    NetworkDegradation,
    DiskFill,
    MigrationBatchFailure,
    Crashloop,
    SourceOutage,
}

impl RawKind {
    pub(super) fn name(self) -> &'static str {
        match self {
            RawKind::ReplicaApplyStall => "replica_apply_stall",
            RawKind::NetworkDegradation => "network_degradation",
            RawKind::DiskFill => "disk_fill",
            RawKind::MigrationBatchFailure => "migration_batch_failure",
            RawKind::Crashloop => "crashloop",
            RawKind::SourceOutage => "source_outage",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFault {
    pub(super) at: S,
    pub(super) kind: Spanned<RawKind>,
    pub(super) duration: Option<S>,
    pub(super) replica: Option<S>,
    pub(super) factor: Option<Spanned<f64>>,
    pub(super) bandwidth: Option<S>,
    pub(super) volume: Option<S>,
    pub(super) bytes: Option<S>,
    pub(super) rate: Option<S>,
    pub(super) message: Option<S>,
    pub(super) count: Option<Spanned<u32>>,
    pub(super) pod: Option<Spanned<u32>>,
    pub(super) revision: Option<S>,
    pub(super) source: Option<Spanned<OutageSource>>,
}

#[derive(Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawObjectiveKind {
    PausedBefore,
    RecoveredWithin,
    NoDataLoss,
    Never,
    TimeToFirstAction,
}

/// One `[[objective]]`: `name`, `kind`, an optional `description`, then per kind
/// `volume`/`used`, `within`/`when`, or `condition`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObjective {
    pub(super) name: S,
    pub(super) kind: Spanned<RawObjectiveKind>,
    pub(super) description: Option<S>,
    pub(super) volume: Option<S>,
    pub(super) used: Option<S>,
    pub(super) within: Option<S>,
    pub(super) when: Option<Vec<Spanned<Recovery>>>,
    pub(super) condition: Option<Spanned<Hazard>>,
}
