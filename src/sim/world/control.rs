//! What an operator (through the drill actuators) can do to the world: pause the backfill,
//! roll pods back, scale or delete them, down-migrate, flip flags, snapshot volumes, drop or
//! recreate slots, deliver webhooks.

use super::model::{Slot, Snapshot, WorldState};
use super::pods;
use super::{Events, push_event};
use crate::sources::{MigrationPhase, Severity, SnapshotState};

/// One change to the drill world. Order matters, as it does for real.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum WorldControl {
    PauseBackfill,
    /// Resumes a paused or failed backfill.
    ResumeBackfill,
    SetBatchSize(u64),
    /// Pods with an ordinal at or above the partition run the update revision.
    SetAppPartition(u32),
    /// Sets the StatefulSet's update revision (a rollback names the old one).
    SetAppRevision(String),
    /// Runs the down-migration: the schema goes back to the migration's `from_schema`.
    DownMigrate,
    SetFlag {
        name: String,
        enabled: bool,
    },
    TakeSnapshot {
        volume: String,
        /// The snapshot's name (a kubernetes step's VolumeSnapshot); `None`: numbered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    DropSlot {
        name: String,
    },
    /// Creates a physical slot, for `replica` if given (it then follows that replica).
    CreateSlot {
        name: String,
        replica: Option<String>,
    },
    PauseReplay {
        replica: String,
    },
    ResumeReplay {
        replica: String,
    },
    /// A plan's change to a table (see `tables`).
    Table(super::tables::TableChange),
    /// Sets the StatefulSet's replica count: pods are removed from the highest ordinal, or
    /// added on the revision their ordinal gets.
    ScaleApp(u32),
    /// Deletes an app pod; the controller recreates it (how a stuck pod gets unstuck).
    DeletePod {
        ordinal: u32,
    },
    /// A patch of fields the world does not model: recorded, with no effect but its event.
    PatchUnmodelled {
        object: String,
        fields: Vec<String>,
    },
    /// A webhook request, delivered (`to`: the host, or where its URL is read from).
    DeliverWebhook {
        method: String,
        to: String,
    },
    /// A facilitator's fault of the scenario's vocabulary, from `at` (now, if that is past).
    InjectFault(super::scenario::FaultSpec),
    /// Ends the fault at this place on the world's timeline now; a scheduled one never starts.
    EndFault {
        index: usize,
    },
    /// Hides a source from the consoles (a rehearsed monitoring outage), or shows it again.
    HideSource {
        source: super::OutageSource,
        hidden: bool,
    },
    /// A responder's action that changes nothing in the world (a run-control key such as
    /// pause): it only counts for the score (`time_to_first_action`).
    NoteAction {
        action: String,
    },
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum WorldError {
    #[error("no {what} named {name:?}")]
    Unknown { what: &'static str, name: String },
    #[error("{0}")]
    Refused(String),
}

fn unknown(what: &'static str, name: &str) -> WorldError {
    WorldError::Unknown {
        what,
        name: name.to_string(),
    }
}

enum ReplayKind {
    Pause,
    Resume,
}

/// Applies `c` at world time `now` (seconds).
pub fn apply(
    s: &mut WorldState,
    c: WorldControl,
    now: f64,
    ev: &mut Events,
) -> Result<(), WorldError> {
    let c_kind = match c {
        WorldControl::PauseReplay { .. } => ReplayKind::Pause,
        _ => ReplayKind::Resume,
    };
    let m = &mut s.migration;
    match c {
        WorldControl::PauseBackfill => match m.phase {
            MigrationPhase::Running | MigrationPhase::Throttled => {
                m.phase = MigrationPhase::Paused;
                m.throttle = None;
                push_event(
                    ev,
                    now,
                    Severity::Info,
                    format!("{} backfill paused", m.name),
                );
            }
            MigrationPhase::Paused => {}
            other => {
                return Err(WorldError::Refused(format!(
                    "{} is {other:?}, not running",
                    m.name
                )));
            }
        },
        WorldControl::ResumeBackfill => match m.phase {
            MigrationPhase::Paused | MigrationPhase::Failed => {
                m.phase = MigrationPhase::Running;
                m.error = None;
                m.consecutive_failures = 0;
                push_event(
                    ev,
                    now,
                    Severity::Info,
                    format!("{} backfill resumed", m.name),
                );
                if s.schema_version != m.to_schema {
                    // The columns it writes are gone.
                    let msg = "column \"address_line1\" of relation \"orders\" does not exist"
                        .to_string();
                    m.phase = MigrationPhase::Failed;
                    push_event(ev, now, Severity::Crit, format!("{} failed: {msg}", m.name));
                    m.error = Some(msg);
                }
            }
            MigrationPhase::Running | MigrationPhase::Throttled => {}
            other => {
                return Err(WorldError::Refused(format!(
                    "{} is {other:?}; nothing to resume",
                    m.name
                )));
            }
        },
        WorldControl::SetBatchSize(n) => {
            if n == 0 {
                return Err(WorldError::Refused("batch size must be at least 1".into()));
            }
            m.batch = n;
            push_event(
                ev,
                now,
                Severity::Info,
                format!("{} batch size set to {n}", m.name),
            );
        }
        WorldControl::SetAppPartition(p) => {
            let n = s.app.pods.len() as u32;
            if p > n {
                return Err(WorldError::Refused(format!(
                    "partition {p} is more than the {n} replicas"
                )));
            }
            s.app.partition = p;
            push_event(
                ev,
                now,
                Severity::Info,
                format!("{} partition set to {p}", s.app.statefulset),
            );
        }
        WorldControl::SetAppRevision(rev) => {
            if s.app.revision(&rev).is_none() {
                return Err(unknown("revision", &rev));
            }
            push_event(
                ev,
                now,
                Severity::Info,
                format!("{} update revision set to {rev}", s.app.statefulset),
            );
            s.app.update_revision = rev;
        }
        WorldControl::DownMigrate => {
            if s.schema_version == m.from_schema {
                return Err(WorldError::Refused(format!(
                    "schema is already at {}",
                    m.from_schema
                )));
            }
            s.schema_version = m.from_schema.clone();
            push_event(
                ev,
                now,
                Severity::Info,
                format!(
                    "down-migration of {} applied: schema now {}",
                    m.name, m.from_schema
                ),
            );
            match m.phase {
                // Pulling the columns out from under a running backfill breaks it.
                MigrationPhase::Running | MigrationPhase::Throttled => {
                    let msg = "column \"address_line1\" of relation \"orders\" does not exist"
                        .to_string();
                    push_event(ev, now, Severity::Crit, format!("{} failed: {msg}", m.name));
                    m.phase = MigrationPhase::Failed;
                    m.throttle = None;
                    m.error = Some(msg);
                }
                _ => {
                    m.phase = MigrationPhase::RolledBack;
                    m.error = None;
                }
            }
        }
        WorldControl::SetFlag { name, enabled } => {
            let flag = s
                .app
                .flags
                .iter_mut()
                .find(|f| f.name == name)
                .ok_or_else(|| unknown("flag", &name))?;
            flag.enabled = enabled;
            let state = if enabled { "on" } else { "off" };
            push_event(
                ev,
                now,
                Severity::Info,
                format!("flag {name} turned {state}"),
            );
        }
        WorldControl::TakeSnapshot { volume, name } => {
            let i = s
                .volumes
                .iter()
                .position(|v| v.name == volume)
                .ok_or_else(|| unknown("volume", &volume))?;
            let n = s.snapshots.iter().filter(|x| x.volume == i).count() + 1;
            let name = name.unwrap_or_else(|| format!("{volume}-snap-{n}"));
            // Copying takes time in proportion to the data: 20 s plus 1 s per GiB.
            let secs = 20.0 + s.volumes[i].used / (1024.0 * 1024.0 * 1024.0);
            push_event(
                ev,
                now,
                Severity::Info,
                format!("snapshot {name} of {volume} started"),
            );
            s.snapshots.push(Snapshot {
                name,
                volume: i,
                state: SnapshotState::Pending,
                created_at: now,
                ready_at: now + secs,
            });
        }
        WorldControl::DropSlot { name } => {
            let i = s
                .slots
                .iter()
                .position(|x| x.name == name)
                .ok_or_else(|| unknown("slot", &name))?;
            let slot = s.slots.remove(i);
            let freed = slot.retained(s.primary.lsn);
            push_event(
                ev,
                now,
                Severity::Info,
                format!(
                    "slot {name} dropped; {} of WAL can be recycled",
                    crate::units::fmt_bytes(freed as u64)
                ),
            );
        }
        WorldControl::CreateSlot { name, replica } => {
            if s.slots.iter().any(|x| x.name == name) {
                return Err(WorldError::Refused(format!("slot {name:?} already exists")));
            }
            let r = match &replica {
                Some(r) => Some(
                    s.replicas
                        .iter()
                        .position(|x| &x.name == r)
                        .ok_or_else(|| unknown("replica", r))?,
                ),
                None => None,
            };
            s.slots.push(Slot {
                name: name.clone(),
                replica: r,
                restart_lsn: s.primary.lsn,
                lost: false,
                unreserved_since: None,
                reported_level: 0,
            });
            push_event(ev, now, Severity::Info, format!("slot {name} created"));
        }
        WorldControl::PauseReplay { replica } | WorldControl::ResumeReplay { replica } => {
            let pause = matches!(c_kind, ReplayKind::Pause);
            let r = s
                .replicas
                .iter_mut()
                .find(|x| x.name == replica)
                .ok_or_else(|| unknown("replica", &replica))?;
            r.replay_paused = pause;
            let what = if pause {
                "pg_wal_replay_pause()"
            } else {
                "pg_wal_replay_resume()"
            };
            push_event(ev, now, Severity::Info, format!("{replica}: {what}"));
        }
        WorldControl::Table(change) => super::tables::apply(s, change, now, ev)?,
        WorldControl::ScaleApp(n) => pods::scale(&mut s.app, n, now, ev),
        WorldControl::DeletePod { ordinal } => pods::delete(&mut s.app, ordinal, now, ev)?,
        WorldControl::PatchUnmodelled { object, fields } => push_event(
            ev,
            now,
            Severity::Info,
            format!(
                "{object} patched ({}): not modelled in the drill world",
                fields.join(", ")
            ),
        ),
        WorldControl::DeliverWebhook { method, to } => push_event(
            ev,
            now,
            Severity::Info,
            format!("webhook {method} {to} delivered"),
        ),
        // The world's own timeline takes these (`World::apply`, `live`).
        WorldControl::InjectFault(_)
        | WorldControl::EndFault { .. }
        | WorldControl::HideSource { .. } => {
            return Err(WorldError::Refused(
                "a facilitator's control reached the world's state".into(),
            ));
        }
        WorldControl::NoteAction { .. } => {}
    }
    Ok(())
}
