//! The drill: a deterministic simulated primary, replicas, slots, volumes, app and migration,
//! driven by a scenario's fault timeline on a logical clock (seeded jitter, no wall clock).

pub mod conditions;
pub mod control;
pub mod faults;
pub mod live;
pub mod model;
pub mod objectives;
pub mod pods;
pub mod rng;
pub mod scenario;
pub mod score;
pub mod tables;
pub mod tick;

use std::collections::VecDeque;
use std::time::Duration;

pub use control::{WorldControl, WorldError};
pub use model::WorldState;
pub use objectives::{ObjectiveState, ObjectiveStatus};
pub use scenario::{OutageSource, Scenario};

use crate::sim::series::{self, SCRAPE_INTERVAL, SeriesStore};
use crate::sources::{MigrationPhase, ReplicaState, Severity, SnapshotState};
use faults::{Effects, FaultRun};
use model::{
    App, Flag, Migration, Pod, Primary, Replica, Revision, Slot, Snapshot, Volume, Window,
};
use rng::Jitter;
use scenario::{MigrationInitial, SnapshotInitial};
use score::Score;
use tick::DT;

/// The world shared by the sim source (which ticks it) and the sim actuators (which act on it).
pub type SharedWorld = std::sync::Arc<std::sync::Mutex<World>>;

/// Something notable that happened in the world, at world time `at`.
#[derive(Clone, Debug, PartialEq)]
pub struct WorldEvent {
    pub at: Duration,
    pub severity: Severity,
    pub text: String,
}

pub(crate) type Events = Vec<WorldEvent>;

pub(crate) fn push_event(ev: &mut Events, t: f64, severity: Severity, text: String) {
    ev.push(WorldEvent {
        at: Duration::from_secs_f64(t.max(0.0)),
        severity,
        text,
    });
}

/// The simulated world. Same scenario, same seed, same steps: same world.
#[derive(Clone, Debug, PartialEq)]
pub struct World {
    name: String,
    /// Sub-steps taken; world time is `steps × 100 ms`.
    steps: u64,
    /// Time given to `step` not yet taken as a whole sub-step.
    carry: Duration,
    rng: Jitter,
    state: WorldState,
    faults: Vec<FaultRun>,
    effects: Effects,
    events: Events,
    /// What the drill's Prometheus scraped from the world (not part of `state_digest`:
    /// it follows from the state's history).
    series: SeriesStore,
    /// Prefix of the app's counters (`[app] metrics`).
    metrics: String,
    /// How many faults the scenario's own timeline has (the rest were injected live).
    scripted: usize,
    /// Sources a facilitator hid from the consoles (a rehearsed monitoring outage).
    hidden: Vec<OutageSource>,
    /// The scenario's objectives as scored so far.
    score: Score,
}

/// Sub-steps between two scrapes of the world into its series.
const SCRAPE_STEPS: u64 = (SCRAPE_INTERVAL / DT + 0.5) as u64;

/// The LSN the drill starts at (an arbitrary 1 TiB of history).
const START_LSN: f64 = 1024.0 * 1024.0 * 1024.0 * 1024.0;

impl World {
    pub fn new(scenario: &Scenario, seed: u64) -> World {
        let sc = scenario;
        let ms = &sc.migration;
        let running = ms.state == MigrationInitial::Running;
        let mut migration = Migration {
            name: ms.name.clone(),
            table: ms.table.clone(),
            columns: ms.columns.clone(),
            from_schema: ms.from_schema.clone(),
            to_schema: ms.to_schema.clone(),
            rows_total: ms.rows_total,
            rows_done: if ms.state == MigrationInitial::Done {
                ms.rows_total
            } else {
                ms.rows_done
            },
            batch: ms.batch,
            ref_batch: ms.batch,
            rows_per_sec: ms.rows_per_sec,
            bytes_per_row: ms.bytes_per_row,
            heap_bytes_per_row: ms.heap_bytes_per_row,
            throttle_max_lag: ms.throttle_max_lag.as_secs_f64(),
            throttle_replicas: ms.throttle_replicas.clone(),
            max_retries: ms.max_retries,
            phase: match ms.state {
                MigrationInitial::Running => MigrationPhase::Running,
                MigrationInitial::Paused => MigrationPhase::Paused,
                MigrationInitial::Done => MigrationPhase::Done,
            },
            throttle: None,
            error: None,
            batch_progress: 0.0,
            batches_done: 0,
            consecutive_failures: 0,
            fail_budget: None,
            rows_window: Window::seeded(0.0, 0.0, 0.0),
            throttle_reported_at: f64::NEG_INFINITY,
        };
        let rps = if running {
            migration.effective_rows_per_sec()
        } else {
            0.0
        };
        migration.rows_window = Window::seeded(0.0, migration.rows_done as f64, rps);
        let wal_rate = sc.primary.wal_rate + rps * ms.bytes_per_row;

        let lsn = START_LSN;
        let mut marks = VecDeque::new();
        marks.push_back((lsn - wal_rate * 10.0, -10.0));
        marks.push_back((lsn, 0.0));
        let primary = Primary {
            name: sc.primary.name.clone(),
            lsn,
            base_wal_rate: sc.primary.wal_rate,
            max_wal_size: sc.primary.max_wal_size,
            max_slot_wal_keep_size: sc.primary.max_slot_wal_keep_size,
            volume: sc.primary.volume,
            heap_growth: 0.0,
            writes_blocked: false,
            marks,
            last_write_at: if wal_rate > 0.0 {
                0.0
            } else {
                f64::NEG_INFINITY
            },
            wal_window: Window::seeded(0.0, lsn, wal_rate),
        };
        let replicas: Vec<Replica> = sc
            .replicas
            .iter()
            .map(|r| Replica {
                name: r.name.clone(),
                apply_rate: r.apply_rate,
                bandwidth: r.bandwidth,
                flushed: lsn,
                replayed: lsn,
                volume: r.volume,
                replay_paused: false,
                broken: None,
                catchup: false,
                state: ReplicaState::Streaming,
                time_lag: None,
            })
            .collect();
        let mut slots: Vec<Slot> = sc
            .replicas
            .iter()
            .enumerate()
            .filter(|(_, r)| r.slot)
            .map(|(i, r)| Slot {
                name: r.name.replace('-', "_"),
                replica: Some(i),
                restart_lsn: lsn,
                lost: false,
                unreserved_since: None,
                reported_level: 0,
            })
            .collect();
        slots.extend(sc.slots.iter().map(|s| Slot {
            name: s.name.clone(),
            replica: None,
            restart_lsn: lsn - s.retained,
            lost: false,
            unreserved_since: None,
            // Don't announce what was already true when the drill began.
            reported_level: tick::retention_level(s.retained),
        }));
        let heap_rate = rps * ms.heap_bytes_per_row;
        let volumes = sc
            .volumes
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let growth = if sc.primary.volume == Some(i) {
                    heap_rate
                } else {
                    0.0
                };
                Volume {
                    name: v.name.clone(),
                    owner: v.owner.clone(),
                    capacity: v.capacity,
                    base_used: v.used,
                    fill: 0.0,
                    used: v.used,
                    window: Window::seeded(0.0, v.used, growth),
                    reported_pct: 0,
                }
            })
            .collect();
        let a = &sc.app;
        let mut app = App {
            statefulset: a.statefulset.clone(),
            revisions: a
                .revisions
                .iter()
                .map(|r| Revision {
                    name: r.name.clone(),
                    version: r.version.clone(),
                    schemas: r.schemas.clone(),
                })
                .collect(),
            current_revision: a.current_revision.clone(),
            update_revision: a.update_revision.clone(),
            partition: a.partition,
            pods: Vec::new(),
            base_error_rate: a.base_error_rate,
            flags: a
                .flags
                .iter()
                .map(|f| Flag {
                    name: f.name.clone(),
                    enabled: f.enabled,
                    requires_schema: f.requires_schema.clone(),
                    error_rate: f.error_rate,
                })
                .collect(),
            error_rate: 0.0,
            error_reported: false,
        };
        app.pods = (0..a.replicas)
            .map(|o| Pod {
                ordinal: o,
                revision: app.desired_revision(o).to_string(),
                restarting_until: None,
                crashloop: false,
                restarts: 0,
                next_restart_at: 0.0,
                backoff: 0.0,
                stuck: a.stuck_pods.contains(&o),
            })
            .collect();
        // A finished rollout: every pod already runs the update revision.
        if app.pods.iter().all(|p| p.revision == app.update_revision) {
            app.current_revision = app.update_revision.clone();
        }
        let snapshots = sc
            .snapshots
            .iter()
            .map(|s| Snapshot {
                name: s.name.clone(),
                volume: s.volume,
                state: match s.state {
                    SnapshotInitial::Pending => SnapshotState::Pending,
                    SnapshotInitial::Ready => SnapshotState::Ready,
                    SnapshotInitial::Failed => SnapshotState::Failed,
                },
                created_at: -s.age.as_secs_f64(),
                ready_at: 30.0,
            })
            .collect();
        let mut state = WorldState {
            primary,
            replicas,
            slots,
            volumes,
            app,
            migration,
            snapshots,
            schema_version: ms.to_schema.clone(),
            added_columns: Vec::new(),
        };
        // What was used at the start already includes the WAL the inactive slots hold.
        let held = state
            .slots
            .iter()
            .map(|s| s.retained(lsn))
            .fold(0.0, f64::max);
        let extra = (held - sc.primary.max_wal_size).max(0.0);
        if let Some(v) = sc.primary.volume.and_then(|i| state.volumes.get_mut(i)) {
            v.base_used = (v.base_used - extra).max(0.0);
        }
        let mut faults: Vec<FaultRun> = sc.faults.iter().cloned().map(FaultRun::new).collect();
        let mut events = Events::new();
        let effects = faults::advance(&mut faults, &mut state, 0.0, &mut events);
        tick::settle(&mut state, 0.0);
        // First judged after the first sub-step: faults due at 0s take effect in it.
        let score = Score::new(&sc.objectives, &state);
        let mut store = SeriesStore::new();
        if !effects.outage(OutageSource::App) {
            series::seed(&mut store, 0.0, &state, &sc.app.metrics);
        }
        World {
            name: sc.name.clone(),
            steps: 0,
            carry: Duration::ZERO,
            rng: Jitter::new(seed),
            state,
            faults,
            effects,
            events,
            series: store,
            metrics: sc.app.metrics.clone(),
            scripted: sc.faults.len(),
            hidden: Vec::new(),
            score,
        }
    }

    /// Advances logical time by `dt` in fixed 100 ms sub-steps; a remainder carries over.
    pub fn step(&mut self, dt: Duration) {
        const SUB: Duration = Duration::from_millis(100);
        self.carry += dt;
        while self.carry >= SUB {
            self.carry -= SUB;
            let t = self.now();
            tick::substep(
                &mut self.state,
                &self.effects,
                &mut self.rng,
                t,
                &mut self.events,
            );
            self.steps += 1;
            self.series.advance_traffic(&self.state, DT);
            let now = self.now();
            self.effects =
                faults::advance(&mut self.faults, &mut self.state, now, &mut self.events);
            self.scrape(now);
            self.score.observe(&self.state, self.now_ms());
        }
    }

    /// World time, milliseconds (whole sub-steps).
    fn now_ms(&self) -> u64 {
        self.steps.saturating_mul(100)
    }

    /// Every `SCRAPE_INTERVAL` of world time the drill's Prometheus samples the world,
    /// unless it is down (a `source_outage` of the app source): then its series have a gap.
    fn scrape(&mut self, now: f64) {
        if self.steps.is_multiple_of(SCRAPE_STEPS) && !self.effects.outage(OutageSource::App) {
            series::record(&mut self.series, now, &self.state, &self.metrics);
        }
    }

    /// The series the drill's Prometheus holds, in world seconds.
    pub fn series(&self) -> &SeriesStore {
        &self.series
    }

    /// World time, seconds (the drill's Prometheus answers at this time).
    pub fn now_secs(&self) -> f64 {
        self.now()
    }

    /// World time, seconds.
    fn now(&self) -> f64 {
        self.steps as f64 * DT
    }

    /// Logical time since the drill began (whole sub-steps).
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(self.steps.saturating_mul(100))
    }

    pub fn scenario_name(&self) -> &str {
        &self.name
    }

    /// Applies an operator's control. Every call counts as an action for the score
    /// (`time_to_first_action`), refused or not; `NoteAction` does nothing else.
    pub fn apply(&mut self, c: WorldControl) -> Result<(), WorldError> {
        let now = self.now();
        // A facilitator's control changes the world's timeline; it is no responder's action.
        let c = match self.facilitate(c) {
            Ok(()) => return Ok(()),
            Err(live::NotLive(c)) => c,
        };
        let now_ms = self.now_ms();
        self.first_action(&c, now_ms);
        if let WorldControl::NoteAction { .. } = c {
            return Ok(());
        }
        let verdicts = self.score.judge(&self.state, &c, now_ms);
        control::apply(&mut self.state, c.clone(), now, &mut self.events)?;
        tick::settle(&mut self.state, now);
        self.score.commit(verdicts);
        self.score.applied(&self.state, &c);
        self.score.observe(&self.state, now_ms);
        Ok(())
    }

    /// An action by the responders at `now_ms`: the score's `time_to_first_action` (only
    /// the first one decides it).
    fn first_action(&mut self, c: &WorldControl, now_ms: u64) {
        self.score.first_action(c, now_ms);
    }

    /// Events since the last drain, oldest first.
    pub fn drain_events(&mut self) -> Vec<WorldEvent> {
        std::mem::take(&mut self.events)
    }

    /// The world as it is now, for sources to observe.
    pub fn state(&self) -> &WorldState {
        &self.state
    }

    /// Each objective of the scenario as scored so far, in scenario order.
    pub fn objectives(&self) -> Vec<ObjectiveStatus> {
        self.score.statuses()
    }

    /// Whether the scenario declares objectives.
    pub fn has_objectives(&self) -> bool {
        !self.score.is_empty()
    }

    /// Ends the drill's scoring: every objective still pending is decided, and every
    /// status is final (`fin`). Idempotent.
    pub fn finish_objectives(&mut self) {
        let now_ms = self.now_ms();
        self.score.finish(&self.state, now_ms);
    }

    /// Whether a `source_outage` fault for `source` is in force.
    pub fn source_outage(&self, source: OutageSource) -> bool {
        self.effects.outage(source)
    }

    /// A digest of the whole state (FNV-1a over its debug form and the RNG position),
    /// for determinism checks.
    pub fn state_digest(&self) -> u64 {
        let text = format!(
            "{:?}|{}",
            (
                self.steps,
                self.carry,
                &self.state,
                &self.faults,
                &self.events,
                &self.hidden,
                &self.score
            ),
            self.rng.position()
        );
        text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        })
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod objective_tests;
