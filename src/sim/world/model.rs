//! The drill world's state: primary, replicas, slots, volumes, app pods, migration, snapshots.
//! Plain data read by `sim::source`; only `tick`, `faults` and `control` change it.

use std::collections::VecDeque;

use crate::sources::{MigrationPhase, ReplicaState, SnapshotState};

/// Seconds over which rates (rows/s, growth, WAL/s) are averaged.
pub const RATE_WINDOW_SECS: f64 = 10.0;

/// Recent `(time, cumulative value)` samples; the rate is the slope over the window.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    samples: VecDeque<(f64, f64)>,
}

impl Window {
    /// A window whose history says the value has been changing at `rate` until `now`.
    pub fn seeded(now: f64, value: f64, rate: f64) -> Self {
        let mut samples = VecDeque::new();
        samples.push_back((now - RATE_WINDOW_SECS, value - rate * RATE_WINDOW_SECS));
        samples.push_back((now, value));
        Window { samples }
    }

    pub fn record(&mut self, t: f64, value: f64) {
        self.samples.push_back((t, value));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(t0, _)| t - *t0 > RATE_WINDOW_SECS)
        {
            self.samples.pop_front();
        }
    }

    /// Change per second over the window; 0 without enough history.
    pub fn rate(&self) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, v0)), Some((t1, v1))) if t1 > t0 => (v1 - v0) / (t1 - t0),
            _ => 0.0,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Primary {
    pub name: String,
    /// WAL written so far (the current LSN), bytes.
    pub lsn: f64,
    pub base_wal_rate: f64,
    pub max_wal_size: f64,
    pub max_slot_wal_keep_size: Option<f64>,
    pub volume: Option<usize>,
    /// Data written by the backfill since the start, bytes.
    pub heap_growth: f64,
    /// The data volume is full: writes fail.
    pub writes_blocked: bool,
    /// `(lsn, time)` marks, oldest first: WAL up to `lsn` was written by `time`.
    pub marks: VecDeque<(f64, f64)>,
    /// Time WAL last grew, seconds.
    pub last_write_at: f64,
    pub wal_window: Window,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Replica {
    pub name: String,
    pub apply_rate: f64,
    pub bandwidth: f64,
    /// Received and flushed WAL (its LSN), bytes.
    pub flushed: f64,
    /// Replayed WAL (its LSN), bytes.
    pub replayed: f64,
    pub volume: Option<usize>,
    /// `pg_wal_replay_pause()` was called.
    pub replay_paused: bool,
    /// Set when it can no longer stream (WAL it needs was removed); needs a rebuild.
    pub broken: Option<String>,
    /// Reconnected and catching up.
    pub catchup: bool,
    pub state: ReplicaState,
    /// Time lag in seconds; `None` when idle.
    pub time_lag: Option<f64>,
}

impl Replica {
    pub fn byte_lag(&self, primary_lsn: f64) -> f64 {
        (primary_lsn - self.replayed).max(0.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    pub name: String,
    /// The replica streaming through it, if any.
    pub replica: Option<usize>,
    pub restart_lsn: f64,
    /// WAL it needed was removed (`wal_status = lost`).
    pub lost: bool,
    /// When it went past `max_slot_wal_keep_size`.
    pub unreserved_since: Option<f64>,
    /// Highest retention level already reported (power of two GiB).
    pub reported_level: u32,
}

impl Slot {
    pub fn active(&self) -> bool {
        self.replica.is_some() && !self.lost
    }

    pub fn retained(&self, primary_lsn: f64) -> f64 {
        if self.lost {
            0.0
        } else {
            (primary_lsn - self.restart_lsn).max(0.0)
        }
    }

    /// `wal_status` as `pg_replication_slots` reports it.
    pub fn wal_status(&self, primary: &Primary) -> &'static str {
        let retained = self.retained(primary.lsn);
        if self.lost {
            "lost"
        } else if retained <= primary.max_wal_size {
            "reserved"
        } else if primary.max_slot_wal_keep_size.is_none_or(|k| retained <= k) {
            "extended"
        } else {
            "unreserved"
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Volume {
    pub name: String,
    pub owner: String,
    pub capacity: f64,
    /// Used at the start, bytes.
    pub base_used: f64,
    /// Bytes written by disk-fill faults and still there.
    pub fill: f64,
    pub used: f64,
    pub window: Window,
    /// Highest usage level reported: 0, 80, 90 or 100.
    pub reported_pct: u8,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Revision {
    pub name: String,
    pub version: String,
    pub schemas: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Flag {
    pub name: String,
    pub enabled: bool,
    pub requires_schema: Option<String>,
    pub error_rate: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pod {
    pub ordinal: u32,
    pub revision: String,
    /// Being replaced by the rollout until this time.
    pub restarting_until: Option<f64>,
    pub crashloop: bool,
    pub restarts: u32,
    /// When the crashlooping container is next restarted.
    pub next_restart_at: f64,
    /// Current CrashLoopBackOff delay, seconds.
    pub backoff: f64,
    /// Not Ready on an old revision, the controller does not replace it until it is deleted
    /// (kubernetes/kubernetes#67250); a recreated pod is not stuck.
    pub stuck: bool,
}

impl Pod {
    pub fn ready(&self) -> bool {
        self.restarting_until.is_none() && !self.crashloop
    }

    /// Stuck and not Ready: the rolling update waits for it until it is deleted.
    pub fn held(&self) -> bool {
        self.stuck && !self.ready()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct App {
    pub statefulset: String,
    pub revisions: Vec<Revision>,
    pub current_revision: String,
    pub update_revision: String,
    pub partition: u32,
    pub pods: Vec<Pod>,
    pub base_error_rate: f64,
    pub flags: Vec<Flag>,
    /// Fraction of requests failing, recomputed every sub-step.
    pub error_rate: f64,
    /// Whether the last error-rate event said "high".
    pub error_reported: bool,
}

impl App {
    pub fn revision(&self, name: &str) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.name == name)
    }

    pub fn pod_name(&self, ordinal: u32) -> String {
        format!("{}-{ordinal}", self.statefulset)
    }

    /// The revision the StatefulSet wants pod `ordinal` to run.
    pub fn desired_revision(&self, ordinal: u32) -> &str {
        if ordinal >= self.partition {
            &self.update_revision
        } else {
            &self.current_revision
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Migration {
    pub name: String,
    /// The table the backfill writes, and the columns it fills (its rows_done rows of
    /// them are not NULL; they exist while the schema is at `to_schema`).
    pub table: String,
    pub columns: Vec<String>,
    pub from_schema: String,
    pub to_schema: String,
    pub rows_total: u64,
    pub rows_done: u64,
    pub batch: u64,
    pub ref_batch: u64,
    pub rows_per_sec: f64,
    pub bytes_per_row: f64,
    pub heap_bytes_per_row: f64,
    pub throttle_max_lag: f64,
    pub throttle_replicas: Vec<usize>,
    pub max_retries: u32,
    pub phase: MigrationPhase,
    pub throttle: Option<String>,
    pub error: Option<String>,
    /// Rows of the batch in flight.
    pub batch_progress: f64,
    pub batches_done: u64,
    pub consecutive_failures: u32,
    /// Batches still to fail from a counted `migration_batch_failure`, with its message.
    pub fail_budget: Option<(u32, String)>,
    pub rows_window: Window,
    /// When throttle on/off was last reported, to keep flapping out of the event log.
    pub throttle_reported_at: f64,
}

impl Migration {
    /// Rows per second at the current batch size: small batches pay more per-batch overhead.
    pub fn effective_rows_per_sec(&self) -> f64 {
        const OVERHEAD_ROWS: f64 = 500.0;
        let f = |b: u64| b as f64 / (b as f64 + OVERHEAD_ROWS);
        self.rows_per_sec * f(self.batch) / f(self.ref_batch)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub name: String,
    pub volume: usize,
    pub state: SnapshotState,
    /// World time it was created, seconds (negative: before the drill began).
    pub created_at: f64,
    /// When a pending snapshot becomes ready.
    pub ready_at: f64,
}

/// A column a plan's `sql` step added to a table of the drill world, and how many of its
/// rows are not NULL.
#[derive(Clone, Debug, PartialEq)]
pub struct AddedColumn {
    pub table: String,
    pub name: String,
    pub filled: u64,
}

/// Everything the drill world is, at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct WorldState {
    pub primary: Primary,
    pub replicas: Vec<Replica>,
    pub slots: Vec<Slot>,
    pub volumes: Vec<Volume>,
    pub app: App,
    pub migration: Migration,
    pub snapshots: Vec<Snapshot>,
    pub schema_version: String,
    /// Columns added by plans during the drill.
    pub added_columns: Vec<AddedColumn>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_rate_is_slope() {
        let mut w = Window::seeded(0.0, 100.0, 5.0);
        assert!((w.rate() - 5.0).abs() < 1e-9);
        for i in 1..=200 {
            w.record(i as f64 * 0.1, 100.0 + i as f64);
        }
        assert!((w.rate() - 10.0).abs() < 1e-6, "{}", w.rate());
    }
}
