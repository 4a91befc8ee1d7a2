//! The typed rollback plan: what the engine runs and the Plan pane shows, already validated.
//! Built only by `Plan::parse` / `Plan::load`, so every value here has passed the checks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::check_kinds::Check;

/// A validated plan. Immutable: its digest identifies it in runs and audit records.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub name: String,
    pub description: String,
    /// Recovery time objective: how long the rollback may take, for display and alerts.
    pub rto: Option<Duration>,
    /// What the run does once no driving console is attached to it.
    pub on_detach: OnDetach,
    /// The name the file was read under (a path, or `(embedded) examples/plans/…`).
    pub source_name: String,
    pub targets: BTreeMap<String, Target>,
    /// Checked before every step; a failing gate holds the run.
    pub gates: Vec<Gate>,
    pub steps: Vec<Step>,
    pub(super) digest: String,
}

impl Plan {
    /// `sha256:` and 64 hex digits over the canonical form of the file (see `digest.rs`).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }
}

/// `on_detach` in `[plan]`: what a run does when its last driving console goes away.
/// Either way, manual steps and asks wait for someone to attach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnDetach {
    /// Pause at the next safe point (the default).
    #[default]
    Pause,
    /// Go on.
    Continue,
}

impl OnDetach {
    pub const ALL: [(&'static str, OnDetach); 2] =
        [("pause", OnDetach::Pause), ("continue", OnDetach::Continue)];

    pub fn name(self) -> &'static str {
        match self {
            OnDetach::Pause => "pause",
            OnDetach::Continue => "continue",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    Postgres,
    Kubernetes,
    Prometheus,
    Http,
    Sim,
}

impl TargetKind {
    pub const ALL: [(&'static str, TargetKind); 5] = [
        ("postgres", TargetKind::Postgres),
        ("kubernetes", TargetKind::Kubernetes),
        ("prometheus", TargetKind::Prometheus),
        ("http", TargetKind::Http),
        ("sim", TargetKind::Sim),
    ];

    pub fn name(self) -> &'static str {
        TargetKind::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
}

/// Where a value that may be secret (a URL with credentials, a header value) is read from
/// at run time. Plans never hold secrets inline: only a target URL without a password or
/// token may be written as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretRef {
    /// `env:NAME`: an environment variable.
    Env(String),
    /// `file:PATH`: the trimmed contents of a file.
    File(PathBuf),
    /// A target URL written in the file, checked to hold no password or token.
    Inline(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub name: String,
    pub kind: TargetKind,
    /// Connection URL (postgres, prometheus, http; kubernetes: a kubeconfig file).
    pub url: Option<SecretRef>,
    /// Prometheus and http: a PEM file of CAs trusted besides the system's roots
    /// (`ca = "file:PATH"`), read when the plan is checked.
    pub ca: Option<PathBuf>,
    /// Sim: the simulated object this target stands for (`orders-db`).
    pub object: Option<String>,
    /// Kubernetes: kubeconfig context and namespace.
    pub context: Option<String>,
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    pub name: String,
    pub check: Check,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnFailure {
    /// Hold the run for a human (the default).
    #[default]
    Pause,
    /// Run the undo of completed steps in reverse order.
    Rollback,
    /// Stop forward progress and leave things as they are.
    Abort,
}

impl OnFailure {
    pub const ALL: [(&'static str, OnFailure); 3] = [
        ("pause", OnFailure::Pause),
        ("rollback", OnFailure::Rollback),
        ("abort", OnFailure::Abort),
    ];
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub id: String,
    pub description: String,
    /// The target the step acts on (declared in `[targets]`); `None` for manual, wait, verify, http.
    pub target: Option<String>,
    pub kind: StepKind,
    pub preflight: Vec<Check>,
    pub postcheck: Vec<Check>,
    pub timeout: Option<Duration>,
    /// Extra attempts after the first; waits `backoff`, doubling each time.
    pub retries: u32,
    pub backoff: Duration,
    pub on_failure: OnFailure,
    pub undo: Option<Undo>,
    /// 1-based line of the step's `[[step]]` header, for messages.
    pub line: usize,
}

/// A step's compensation, run by `rollback` in reverse order of completion.
#[derive(Clone, Debug, PartialEq)]
pub enum Undo {
    /// A `patch` restores the fields it changed to the values observed before it ran.
    Auto,
    /// Another action, on `target` (defaults to the step's target).
    Action {
        target: Option<String>,
        kind: StepKind,
    },
}

/// An HTTP request: the `request` of an `http` step or an `http` undo.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    pub method: String,
    pub url: HttpUrl,
    /// Body, sent as JSON.
    pub json: Option<serde_json::Value>,
    pub headers: BTreeMap<String, HeaderValue>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum HttpUrl {
    /// The whole URL is a secret.
    Secret(SecretRef),
    /// A path (starting with `/`) under the step's `http` target URL.
    Path(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum HeaderValue {
    Plain(String),
    /// Credential-bearing headers (Authorization, tokens, keys) come from env: or file:.
    Secret(SecretRef),
}

/// Revisions named by rollbacks: the one before the current, or a named one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revision {
    Previous,
    Named(String),
}

/// Limits that hold a batched step by themselves (the first reason wins).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Throttle {
    pub max_replication_lag: Option<Duration>,
    pub max_rows_per_second: Option<u64>,
}

/// What a step does, with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// A human instruction, confirmed by key.
    Manual {
        instruction: String,
    },
    /// Until `check` holds; the step's `timeout` is required.
    Wait {
        check: Check,
    },
    /// `checks` hold against the baseline captured when the run started.
    Verify {
        checks: Vec<Check>,
    },
    Sql {
        statement: String,
    },
    /// `statement` runs once per key range `[$1, $2)` of `batch` rows, throttled.
    SqlBatches {
        table: String,
        key: String,
        batch: u64,
        statement: String,
        throttle: Throttle,
    },
    StatefulsetRollback {
        statefulset: String,
        to_revision: Revision,
    },
    /// `object` is `KIND/NAME`, e.g. `deployment/orders-worker`.
    Scale {
        object: String,
        replicas: u32,
    },
    /// A JSON merge patch applied to `object` (`KIND/NAME`).
    Patch {
        object: String,
        patch: serde_json::Value,
    },
    /// A VolumeSnapshot of a PersistentVolumeClaim.
    Snapshot {
        volume: String,
    },
    Http {
        request: HttpRequest,
        /// Expected status; `None` accepts any 2xx.
        expect_status: Option<u16>,
    },
    /// A drill action on the simulated world.
    Sim(SimAction),
}

/// The drill kinds, acting on the simulated world (`sim.*`).
#[derive(Clone, Debug, PartialEq)]
pub enum SimAction {
    PauseBackfill,
    ResumeBackfill,
    SetBatchSize {
        batch: u64,
    },
    RevertApp {
        to_revision: Revision,
    },
    SetPartition {
        partition: u32,
    },
    DownMigration {
        migration: String,
    },
    SetFlag {
        flag: String,
        enabled: bool,
    },
    Snapshot {
        volume: String,
    },
    DropSlot {
        slot: String,
    },
    CreateSlot {
        slot: String,
        replica: Option<String>,
    },
    PauseReplay {
        replica: String,
    },
    ResumeReplay {
        replica: String,
    },
}

impl StepKind {
    /// The kind as written in the plan (`sql_batches`, `sim.pause_backfill`).
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Manual { .. } => "manual",
            StepKind::Wait { .. } => "wait",
            StepKind::Verify { .. } => "verify",
            StepKind::Sql { .. } => "sql",
            StepKind::SqlBatches { .. } => "sql_batches",
            StepKind::StatefulsetRollback { .. } => "statefulset_rollback",
            StepKind::Scale { .. } => "scale",
            StepKind::Patch { .. } => "patch",
            StepKind::Snapshot { .. } => "snapshot",
            StepKind::Http { .. } => "http",
            StepKind::Sim(a) => a.name(),
        }
    }

    /// The backend that carries the step out: the one place that decides it. `None` for
    /// manual, wait and verify steps, which the run itself carries out on any target.
    pub fn backend(&self) -> Option<TargetKind> {
        match self {
            StepKind::Manual { .. } | StepKind::Wait { .. } | StepKind::Verify { .. } => None,
            StepKind::Sql { .. } | StepKind::SqlBatches { .. } => Some(TargetKind::Postgres),
            StepKind::StatefulsetRollback { .. }
            | StepKind::Scale { .. }
            | StepKind::Patch { .. }
            | StepKind::Snapshot { .. } => Some(TargetKind::Kubernetes),
            StepKind::Http { .. } => Some(TargetKind::Http),
            StepKind::Sim(_) => Some(TargetKind::Sim),
        }
    }

    /// Whether the step changes a system (and so needs an `undo` to be rolled back).
    /// Manual, wait and verify only observe; snapshots only add.
    pub fn changes_state(&self) -> bool {
        !matches!(
            self,
            StepKind::Manual { .. }
                | StepKind::Wait { .. }
                | StepKind::Verify { .. }
                | StepKind::Snapshot { .. }
                | StepKind::Sim(SimAction::Snapshot { .. })
        )
    }
}

impl SimAction {
    pub fn name(&self) -> &'static str {
        match self {
            SimAction::PauseBackfill => "sim.pause_backfill",
            SimAction::ResumeBackfill => "sim.resume_backfill",
            SimAction::SetBatchSize { .. } => "sim.set_batch_size",
            SimAction::RevertApp { .. } => "sim.revert_app",
            SimAction::SetPartition { .. } => "sim.set_partition",
            SimAction::DownMigration { .. } => "sim.down_migration",
            SimAction::SetFlag { .. } => "sim.set_flag",
            SimAction::Snapshot { .. } => "sim.snapshot",
            SimAction::DropSlot { .. } => "sim.drop_slot",
            SimAction::CreateSlot { .. } => "sim.create_slot",
            SimAction::PauseReplay { .. } => "sim.pause_replay",
            SimAction::ResumeReplay { .. } => "sim.resume_replay",
        }
    }
}
