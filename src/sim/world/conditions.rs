//! The conditions objectives are judged on, read from the world's state: what "recovered"
//! means (`Recovery`) and what must never happen (`Hazard`), each with a reason to show.

use super::model::WorldState;
use super::scenario::{Hazard, Recovery};
use crate::sources::{MigrationPhase, ReplicaState};
use crate::units::fmt_bytes;

/// Error rate under which the app counts as healthy.
pub const HEALTHY_ERROR_RATE: f64 = 0.01;
/// Replication lag, seconds, under which a replica counts as caught up.
pub const CAUGHT_UP_LAG: f64 = 30.0;
/// Usage ratio under which a volume counts as fine.
pub const DISK_OK: f64 = 0.9;

/// Why `r` does not hold in `s`; `None` when it holds.
pub fn unmet(r: Recovery, s: &WorldState) -> Option<String> {
    match r {
        Recovery::Healthy => [
            Recovery::AppHealthy,
            Recovery::ReplicasCaughtUp,
            Recovery::DiskOk,
        ]
        .into_iter()
        .find_map(|r| unmet(r, s)),
        Recovery::AppHealthy => app_unhealthy(s),
        Recovery::ReplicasCaughtUp => s.replicas.iter().find_map(|r| {
            if let Some(why) = &r.broken {
                return Some(format!("{} broken: {why}", r.name));
            }
            if r.state != ReplicaState::Streaming {
                let state = format!("{:?}", r.state).to_lowercase();
                return Some(format!("{} is {state}", r.name));
            }
            r.time_lag
                .filter(|l| *l > CAUGHT_UP_LAG)
                .map(|l| format!("{} lag {l:.0}s", r.name))
        }),
        Recovery::DiskOk => s.volumes.iter().find_map(|v| {
            (v.used >= DISK_OK * v.capacity)
                .then(|| format!("{} at {:.1}%", v.name, v.used / v.capacity * 100.0))
        }),
        Recovery::BackfillStopped => backfill_running(s),
        Recovery::WalReleased => wal_held(s),
        Recovery::MigrationRolledBack => {
            let m = &s.migration;
            if s.schema_version != m.from_schema {
                Some(format!("schema still at {}", s.schema_version))
            } else {
                backfill_running(s)
            }
        }
    }
}

/// A slot holding WAL for a consumer that is not streaming, or more than `max_wal_size`.
fn wal_held(s: &WorldState) -> Option<String> {
    let p = &s.primary;
    s.slots.iter().filter(|sl| !sl.lost).find_map(|sl| {
        let held = sl.retained(p.lsn);
        let size = fmt_bytes(held.max(0.0) as u64);
        let consumer = sl.replica.and_then(|i| s.replicas.get(i));
        match consumer {
            None if held > 0.0 => Some(format!(
                "slot {} holds {size} of WAL with no consumer",
                sl.name
            )),
            Some(r)
                if held > 0.0 && (r.broken.is_some() || r.state == ReplicaState::Disconnected) =>
            {
                Some(format!(
                    "slot {} holds {size} of WAL for {}, which is not streaming",
                    sl.name, r.name
                ))
            }
            _ if held > p.max_wal_size => Some(format!("slot {} holds {size} of WAL", sl.name)),
            _ => None,
        }
    })
}

fn backfill_running(s: &WorldState) -> Option<String> {
    let m = &s.migration;
    match m.phase {
        MigrationPhase::Running => Some(format!("{} backfill running", m.name)),
        MigrationPhase::Throttled => Some(format!("{} backfill throttled, not stopped", m.name)),
        _ => None,
    }
}

fn app_unhealthy(s: &WorldState) -> Option<String> {
    let a = &s.app;
    let down = a.pods.iter().filter(|p| !p.ready()).count();
    if down > 0 {
        return Some(format!("{down} of {} pods not Ready", a.pods.len()));
    }
    if let Some(p) = a.pods.iter().find(|p| {
        a.revision(&p.revision)
            .is_none_or(|r| !r.schemas.contains(&s.schema_version))
    }) {
        return Some(format!(
            "{} runs {}, which does not work on schema {}",
            a.pod_name(p.ordinal),
            p.revision,
            s.schema_version
        ));
    }
    (a.error_rate >= HEALTHY_ERROR_RATE).then(|| format!("error rate {:.1}%", a.error_rate * 100.0))
}

/// What happened, if `h` is true of `s` now (`start_schema`: the schema the drill began at).
pub fn hazard_seen(h: Hazard, s: &WorldState, start_schema: &str) -> Option<String> {
    match h {
        Hazard::DiskFull => s.volumes.iter().find_map(|v| {
            (v.used >= v.capacity * (1.0 - 1e-7)).then(|| {
                format!(
                    "volume {} is full ({})",
                    v.name,
                    fmt_bytes(v.capacity.max(0.0) as u64)
                )
            })
        }),
        Hazard::SlotLost => s
            .slots
            .iter()
            .find(|sl| sl.lost)
            .map(|sl| format!("slot {} lost: its WAL was removed", sl.name)),
        Hazard::ReplicaBroken => s.replicas.iter().find_map(|r| {
            r.broken
                .as_ref()
                .map(|why| format!("{} needs a rebuild: {why}", r.name))
        }),
        Hazard::SchemaChanged => (s.schema_version != start_schema)
            .then(|| format!("schema moved from {start_schema} to {}", s.schema_version)),
        // Judged on the control that does it (`score::Score::judge`).
        Hazard::DroppedColumnInUse | Hazard::DroppedActiveSlot => None,
    }
}
