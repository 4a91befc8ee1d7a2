//! Drill scenario files: the initial world and a timeline of faults, read from TOML.
//! Every semantic error is located (file:line:col); the built-in scenarios are embedded.

// `LocatedError` (`crate::diag`) is large by design: it carries its snippet for miette.
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::time::Duration;

mod check;
mod objective;
mod raw;

use serde::{Deserialize, Serialize};

use crate::diag::{LocatedError, SourceFile};
use check::Checker;
pub use objective::{Goal, Hazard, ObjectiveSpec, Recovery};
use raw::RawFile;

/// Built-in scenarios: file stem and text, embedded from `examples/scenarios/`.
const BUILTINS: &[(&str, &str)] = &[
    (
        "backfill-slot-fill",
        include_str!("../../../../examples/scenarios/backfill-slot-fill.toml"),
    ),
    (
        "crashloop-new-revision",
        include_str!("../../../../examples/scenarios/crashloop-new-revision.toml"),
    ),
    (
        "network-partition-replica2",
        include_str!("../../../../examples/scenarios/network-partition-replica2.toml"),
    ),
    (
        "migration-batch-failure",
        include_str!("../../../../examples/scenarios/migration-batch-failure.toml"),
    ),
    (
        "abandoned-cdc-slot",
        include_str!("../../../../examples/scenarios/abandoned-cdc-slot.toml"),
    ),
];

const BUILTIN_NAMES: &[&str] = &[
    "backfill-slot-fill",
    "crashloop-new-revision",
    "network-partition-replica2",
    "migration-batch-failure",
    "abandoned-cdc-slot",
];

/// A validated drill scenario: who is in the world, how it starts, and what goes wrong when.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub title: String,
    pub description: String,
    /// Plan file name in `examples/plans`, e.g. `backfill-slot-fill.toml`.
    pub plan: Option<String>,
    pub primary: PrimarySpec,
    pub replicas: Vec<ReplicaSpec>,
    /// Extra slots with no consumer (inactive), e.g. an abandoned CDC slot.
    pub slots: Vec<SlotSpec>,
    pub volumes: Vec<VolumeSpec>,
    pub snapshots: Vec<SnapshotSpec>,
    pub app: AppSpec,
    pub migration: MigrationSpec,
    pub faults: Vec<FaultSpec>,
    /// How a real plan's targets, statements and URLs bind to this world.
    pub bind: BindSpec,
    /// `[[objective]]`s, in file order: what the responders are scored on.
    pub objectives: Vec<ObjectiveSpec>,
}

/// A scenario's `[bind]`: where a plan's names differ from the world's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BindSpec {
    /// `[bind.targets]`: plan target → `primary`, a replica, `app`, `metrics` or `web`.
    pub targets: Vec<(String, String)>,
    /// `[bind.statements]`: statement text → what it does to the world.
    pub statements: Vec<(String, BoundAction)>,
    /// `[bind.flags]`: text of an http step's URL (a variable's name) → a feature flag.
    pub flags: Vec<(String, String)>,
}

/// What a bound statement does to the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundAction {
    PauseBackfill,
    ResumeBackfill,
    DownMigration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PrimarySpec {
    pub name: String,
    /// Base WAL rate without the backfill, bytes/s.
    pub wal_rate: f64,
    pub max_wal_size: f64,
    /// `None` is PostgreSQL's `-1`: slots may retain WAL without limit.
    pub max_slot_wal_keep_size: Option<f64>,
    /// Index into `Scenario::volumes` of its data (and WAL) volume.
    pub volume: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaSpec {
    pub name: String,
    /// Replay capacity, bytes/s.
    pub apply_rate: f64,
    /// Network bandwidth from the primary, bytes/s.
    pub bandwidth: f64,
    pub volume: Option<usize>,
    /// Whether it streams through a physical replication slot.
    pub slot: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SlotSpec {
    pub name: String,
    /// WAL it already holds back at the start, bytes.
    pub retained: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VolumeSpec {
    pub name: String,
    pub owner: String,
    pub capacity: f64,
    pub used: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotInitial {
    Pending,
    Ready,
    Failed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotSpec {
    pub name: String,
    pub volume: usize,
    /// How long before the drill starts it was created.
    pub age: Duration,
    pub state: SnapshotInitial,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RevisionSpec {
    pub name: String,
    pub version: String,
    /// Schema versions this revision works with.
    pub schemas: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FlagSpec {
    pub name: String,
    pub enabled: bool,
    /// The code path behind the flag fails unless the schema is at this version.
    pub requires_schema: Option<String>,
    /// Share of requests that fail when the flag is on against the wrong schema.
    pub error_rate: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AppSpec {
    pub statefulset: String,
    /// Prefix of the app's counters in the drill's Prometheus: `<metrics>_requests_total`,
    /// `<metrics>_errors_total`. Defaults to the statefulset name with `-` as `_`.
    pub metrics: String,
    pub replicas: u32,
    pub partition: u32,
    pub current_revision: String,
    pub update_revision: String,
    pub base_error_rate: f64,
    /// Listed newest first: `previous` is the one after the update revision.
    pub revisions: Vec<RevisionSpec>,
    pub flags: Vec<FlagSpec>,
    /// Ordinals of pods that, not Ready on an old revision, are not replaced by the
    /// controller until deleted (kubernetes/kubernetes#67250).
    pub stuck_pods: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationInitial {
    Running,
    Paused,
    Done,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MigrationSpec {
    pub name: String,
    /// The table the backfill writes (default `orders`) and the columns it fills.
    pub table: String,
    pub columns: Vec<String>,
    pub from_schema: String,
    pub to_schema: String,
    pub rows_total: u64,
    pub rows_done: u64,
    pub batch: u64,
    /// Rows per second at the configured batch size.
    pub rows_per_sec: f64,
    /// WAL written per backfilled row.
    pub bytes_per_row: f64,
    /// Table growth per backfilled row.
    pub heap_bytes_per_row: f64,
    pub throttle_max_lag: Duration,
    /// Indexes of the replicas whose lag throttles the backfill (gh-ost's control replicas).
    pub throttle_replicas: Vec<usize>,
    pub state: MigrationInitial,
    /// Consecutive failed batches before the migration gives up.
    pub max_retries: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutageSource {
    Db,
    App,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Bandwidth {
    /// Multiplies the replica's bandwidth; 0 disconnects it.
    Factor(f64),
    /// Bytes/s.
    Absolute(f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Fill {
    /// Bytes written at once.
    Bytes(f64),
    /// Bytes/s while the fault lasts.
    Rate(f64),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CrashTarget {
    Pod(u32),
    Revision(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Fault {
    ReplicaApplyStall {
        replica: usize,
    },
    NetworkDegradation {
        replica: usize,
        bandwidth: Bandwidth,
    },
    DiskFill {
        volume: usize,
        fill: Fill,
    },
    MigrationBatchFailure {
        message: String,
        count: Option<u32>,
    },
    Crashloop {
        target: CrashTarget,
    },
    SourceOutage {
        source: OutageSource,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub at: Duration,
    /// `None`: lasts to the end of the drill (or, for a counted batch failure, until spent).
    pub duration: Option<Duration>,
    pub fault: Fault,
}

impl Scenario {
    /// Parses and validates a scenario file; every error is located in `file`.
    pub fn parse(file: &SourceFile) -> Result<Scenario, LocatedError> {
        let raw: RawFile = file.parse_toml()?;
        Checker { file }.build(raw)
    }

    /// A built-in scenario by file stem, parsed; `None` if there is no such built-in.
    pub fn builtin(name: &str) -> Option<Result<Scenario, LocatedError>> {
        BUILTINS.iter().find(|(n, _)| *n == name).map(|(n, text)| {
            let file = SourceFile::new(format!("(embedded) scenarios/{n}.toml"), *text);
            Scenario::parse(&file)
        })
    }

    pub fn builtin_names() -> &'static [&'static str] {
        BUILTIN_NAMES
    }

    pub fn default_name() -> &'static str {
        "backfill-slot-fill"
    }

    /// A built-in name, else a path on disk.
    pub fn load(name_or_path: &str) -> Result<Scenario, LocatedError> {
        if let Some(s) = Scenario::builtin(name_or_path) {
            return s;
        }
        let file = SourceFile::read(Path::new(name_or_path)).map_err(|e| {
            SourceFile::new(e.name.clone(), String::new()).error_at(
                0..0,
                e.message.clone(),
                Some(format!(
                    "not a built-in scenario either; built-ins: {}",
                    BUILTIN_NAMES.join(", ")
                )),
            )
        })?;
        Scenario::parse(&file)
    }

    pub fn replica_index(&self, name: &str) -> Option<usize> {
        self.replicas.iter().position(|r| r.name == name)
    }
}
