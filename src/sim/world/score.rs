//! The live score of a drill's objectives, judged from the world's state and the controls
//! applied to it only (world time, no wall clock): same seed, same actions, same score.

use std::time::Duration;

use super::conditions::{hazard_seen, unmet};
use super::control::WorldControl;
use super::model::WorldState;
use super::objectives::{ObjectiveState, ObjectiveStatus};
use super::scenario::{Goal, Hazard, ObjectiveSpec};
use super::tables::TableChange;
use crate::sources::MigrationPhase;
use crate::units::{fmt_count, fmt_duration};

#[derive(Clone, Debug, PartialEq)]
struct Entry {
    spec: ObjectiveSpec,
    state: ObjectiveState,
}

/// What the latest snapshot of the primary's volume taken during the drill holds.
#[derive(Clone, Debug, PartialEq)]
struct Covered {
    /// Rows of the backfill's columns filled when it was taken.
    backfill_rows: u64,
    /// `(table, column, filled rows)` of the columns plans had added.
    added: Vec<(String, String, u64)>,
}

/// Every objective of a scenario and how it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    entries: Vec<Entry>,
    /// Schema version when the drill began (`never schema_changed`).
    start_schema: String,
    covered: Option<Covered>,
    finished: bool,
}

/// A decision about to be made by an apply, committed only if the apply succeeds.
pub struct Verdicts(Vec<(usize, ObjectiveState)>);

fn ago(ms: u64) -> String {
    fmt_duration(Duration::from_millis(ms))
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn pct(used: f64, capacity: f64) -> f64 {
    if capacity > 0.0 {
        used / capacity * 100.0
    } else {
        0.0
    }
}

/// The name a control is scored under (`time_to_first_action`'s detail).
fn action_name(c: &WorldControl) -> String {
    if let WorldControl::NoteAction { action } = c {
        return action.clone();
    }
    let text = format!("{c:?}");
    text.split(|ch: char| !ch.is_ascii_alphanumeric())
        .next()
        .unwrap_or("")
        .to_string()
}

impl Score {
    pub fn new(specs: &[ObjectiveSpec], s: &WorldState) -> Score {
        Score {
            entries: specs
                .iter()
                .map(|spec| Entry {
                    spec: spec.clone(),
                    state: ObjectiveState::Pending,
                })
                .collect(),
            start_schema: s.schema_version.clone(),
            covered: None,
            finished: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Each objective as it stands, in scenario order.
    pub fn statuses(&self) -> Vec<ObjectiveStatus> {
        self.entries
            .iter()
            .map(|e| ObjectiveStatus {
                name: e.spec.name.clone(),
                kind: e.spec.goal.kind().to_string(),
                description: e.spec.description.clone(),
                state: e.state.clone(),
                fin: self.finished,
            })
            .collect()
    }

    fn pending(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !self.finished && e.state == ObjectiveState::Pending)
    }

    fn decide(&mut self, verdicts: Vec<(usize, ObjectiveState)>) {
        if self.finished {
            return;
        }
        for (i, state) in verdicts {
            if let Some(e) = self.entries.get_mut(i)
                && e.state == ObjectiveState::Pending
            {
                e.state = state;
            }
        }
    }

    /// Judges the world as it is at `now_ms` (after a sub-step or an apply).
    pub fn observe(&mut self, s: &WorldState, now_ms: u64) {
        let mut out = Vec::new();
        for (i, e) in self.pending() {
            let met = |detail: String| {
                Some(ObjectiveState::Met {
                    at_ms: now_ms,
                    detail,
                })
            };
            let missed =
                |at_ms: u64, detail: String| Some(ObjectiveState::Missed { at_ms, detail });
            let verdict = match &e.spec.goal {
                Goal::PausedBefore { volume, used } => {
                    let Some(v) = s.volumes.get(*volume) else {
                        continue;
                    };
                    let at = pct(v.used, v.capacity);
                    let phase = s.migration.phase;
                    if matches!(phase, MigrationPhase::Paused | MigrationPhase::RolledBack) {
                        met(format!("backfill stopped with {} at {at:.1}%", v.name))
                    } else if v.used >= used * v.capacity {
                        missed(
                            now_ms,
                            format!(
                                "{} reached {at:.1}% with the backfill {}",
                                v.name,
                                phase_word(phase)
                            ),
                        )
                    } else {
                        None
                    }
                }
                Goal::RecoveredWithin { within, when } => {
                    let why = when.iter().find_map(|r| unmet(*r, s));
                    match why {
                        None => met(format!("recovered after {}", ago(now_ms))),
                        Some(why) if now_ms >= ms(*within) => missed(
                            ms(*within),
                            format!("not recovered within {}: {why}", ago(ms(*within))),
                        ),
                        Some(_) => None,
                    }
                }
                Goal::NoDataLoss => s.primary.writes_blocked.then(|| ObjectiveState::Missed {
                    at_ms: now_ms,
                    detail: format!("writes failing on {}: its volume is full", s.primary.name),
                }),
                Goal::Never(h) => {
                    hazard_seen(*h, s, &self.start_schema).and_then(|what| missed(now_ms, what))
                }
                Goal::TimeToFirstAction { within } if now_ms > ms(*within) => missed(
                    ms(*within),
                    format!("no action in the first {}", ago(ms(*within))),
                ),
                Goal::TimeToFirstAction { .. } => None,
            };
            if let Some(v) = verdict {
                out.push((i, v));
            }
        }
        self.decide(out);
    }

    /// The first action on the world, at `now_ms`: decides `time_to_first_action`.
    pub fn first_action(&mut self, c: &WorldControl, now_ms: u64) {
        let name = action_name(c);
        let out: Vec<_> = self
            .pending()
            .filter_map(|(i, e)| match &e.spec.goal {
                Goal::TimeToFirstAction { within } if now_ms <= ms(*within) => Some((
                    i,
                    ObjectiveState::Met {
                        at_ms: now_ms,
                        detail: format!("first action ({name}) after {}", ago(now_ms)),
                    },
                )),
                _ => None,
            })
            .collect();
        self.decide(out);
    }

    /// What applying `c` to `s` (as it is before) would decide: drops of data or of an
    /// active slot, judged on the state they happen to.
    pub fn judge(&self, s: &WorldState, c: &WorldControl, now_ms: u64) -> Verdicts {
        let mut out = Vec::new();
        let lost = self.data_dropped(s, c);
        let in_use = dropped_in_use(s, c);
        let active = dropped_active_slot(s, c);
        for (i, e) in self.pending() {
            let detail = match &e.spec.goal {
                Goal::NoDataLoss => lost.clone(),
                Goal::Never(Hazard::DroppedColumnInUse) => in_use.clone(),
                Goal::Never(Hazard::DroppedActiveSlot) => active.clone(),
                _ => None,
            };
            if let Some(detail) = detail {
                out.push((
                    i,
                    ObjectiveState::Missed {
                        at_ms: now_ms,
                        detail,
                    },
                ));
            }
        }
        Verdicts(out)
    }

    /// Commits what `judge` found, once the control was applied.
    pub fn commit(&mut self, v: Verdicts) {
        self.decide(v.0);
    }

    /// After a control was applied: a snapshot of the primary's volume records what it holds.
    pub fn applied(&mut self, s: &WorldState, c: &WorldControl) {
        if let WorldControl::TakeSnapshot { .. } = c
            && let Some(snap) = s.snapshots.last()
            && Some(snap.volume) == s.primary.volume
        {
            self.covered = Some(Covered {
                backfill_rows: s.migration.rows_done,
                added: s
                    .added_columns
                    .iter()
                    .map(|a| (a.table.clone(), a.name.clone(), a.filled))
                    .collect(),
            });
        }
    }

    /// Filled rows `c` would drop that no snapshot taken during the drill holds.
    fn data_dropped(&self, s: &WorldState, c: &WorldControl) -> Option<String> {
        let m = &s.migration;
        match c {
            WorldControl::DownMigrate if s.schema_version != m.from_schema => {
                let kept = self.covered.as_ref().map_or(0, |k| k.backfill_rows);
                let lost = m.rows_done.saturating_sub(kept);
                let cols = if m.columns.is_empty() {
                    "the backfill's columns".to_string()
                } else {
                    m.columns.join(", ")
                };
                (lost > 0).then(|| {
                    format!(
                        "down-migration dropped {cols} of {} with {} filled rows no snapshot holds",
                        m.table,
                        fmt_count(lost)
                    )
                })
            }
            WorldControl::Table(TableChange::DropColumn { table, column }) => {
                let filled = s
                    .added_columns
                    .iter()
                    .find(|a| &a.table == table && &a.name == column)?
                    .filled;
                let kept = self
                    .covered
                    .as_ref()
                    .and_then(|k| {
                        k.added
                            .iter()
                            .find(|(t, n, _)| t == table && n == column)
                            .map(|(_, _, f)| *f)
                    })
                    .unwrap_or(0);
                let lost = filled.saturating_sub(kept);
                (lost > 0).then(|| {
                    format!(
                        "dropped {table}.{column} with {} filled rows no snapshot holds",
                        fmt_count(lost)
                    )
                })
            }
            _ => None,
        }
    }

    /// Ends the drill: every pending objective is decided; nothing changes after.
    pub fn finish(&mut self, s: &WorldState, now_ms: u64) {
        let mut out = Vec::new();
        for (i, e) in self.pending() {
            let missed = |detail: String| ObjectiveState::Missed {
                at_ms: now_ms,
                detail,
            };
            let met = |detail: String| ObjectiveState::Met {
                at_ms: now_ms,
                detail,
            };
            let state = match &e.spec.goal {
                Goal::PausedBefore { volume, .. } => {
                    let at = s
                        .volumes
                        .get(*volume)
                        .map_or(0.0, |v| pct(v.used, v.capacity));
                    missed(format!(
                        "the drill ended with the backfill {} (volume at {at:.1}%)",
                        phase_word(s.migration.phase)
                    ))
                }
                Goal::RecoveredWithin { when, .. } => {
                    let why = when
                        .iter()
                        .find_map(|r| unmet(*r, s))
                        .unwrap_or_else(|| "recovered only as it ended".to_string());
                    missed(format!("the drill ended unrecovered: {why}"))
                }
                Goal::NoDataLoss => met(
                    "no write failed and no filled column was dropped without a snapshot"
                        .to_string(),
                ),
                Goal::Never(h) => met(h.held().to_string()),
                Goal::TimeToFirstAction { .. } => {
                    missed("the drill ended before anyone acted".to_string())
                }
            };
            out.push((i, state));
        }
        self.decide(out);
        self.finished = true;
    }
}

fn phase_word(p: MigrationPhase) -> &'static str {
    match p {
        MigrationPhase::Running => "running",
        MigrationPhase::Throttled => "throttled",
        MigrationPhase::Paused => "paused",
        MigrationPhase::Failed => "failed",
        MigrationPhase::Done => "done",
        MigrationPhase::RolledBack => "rolled back",
    }
}

/// A down-migration while a Ready pod's revision or an enabled flag needs the schema it
/// removes.
fn dropped_in_use(s: &WorldState, c: &WorldControl) -> Option<String> {
    let m = &s.migration;
    if !matches!(c, WorldControl::DownMigrate) || s.schema_version == m.from_schema {
        return None;
    }
    let a = &s.app;
    let mut serving: Vec<&str> = Vec::new();
    for p in a.pods.iter().filter(|p| p.ready()) {
        if a.revision(&p.revision)
            .is_some_and(|r| !r.schemas.contains(&m.from_schema))
            && !serving.contains(&p.revision.as_str())
        {
            serving.push(&p.revision);
        }
    }
    if let Some(rev) = serving.first() {
        let pods = a
            .pods
            .iter()
            .filter(|p| p.ready() && p.revision == *rev)
            .count();
        return Some(format!(
            "down-migrated to {} while {rev} (needs {}) served on {pods} pod(s)",
            m.from_schema, s.schema_version
        ));
    }
    let flag = a.flags.iter().find(|f| {
        f.enabled
            && f.requires_schema
                .as_ref()
                .is_some_and(|v| *v == s.schema_version)
    })?;
    Some(format!(
        "down-migrated to {} while flag {} still read the new columns",
        m.from_schema, flag.name
    ))
}

/// Dropping the slot of a replica that is connected and streaming through it.
fn dropped_active_slot(s: &WorldState, c: &WorldControl) -> Option<String> {
    let WorldControl::DropSlot { name } = c else {
        return None;
    };
    let slot = s.slots.iter().find(|x| &x.name == name)?;
    let r = s.replicas.get(slot.replica?)?;
    let connected = r.broken.is_none() && r.state != crate::sources::ReplicaState::Disconnected;
    (connected && !slot.lost)
        .then(|| format!("dropped slot {name} while {} streamed through it", r.name))
}
