//! The drill world's physics for one fixed 100 ms sub-step: WAL and backfill, streaming
//! replicas, slots, volumes, app pods and error rate, snapshots; notable changes become events.

use std::collections::VecDeque;

use super::faults::Effects;
use super::model::{Primary, Replica, WorldState};
use super::pods;
use super::rng::Jitter;
use super::{Events, push_event};
use crate::sources::{MigrationPhase, ReplicaState, Severity, SnapshotState};
use crate::units::{fmt_bytes, fmt_duration};

/// Sub-step length, seconds.
pub const DT: f64 = 0.1;
/// Marks older than this are merged: time lag is exact to about this.
const MARK_SPACING: f64 = 1.0;
const MAX_MARKS: usize = 8_000;
/// A replica caught up within this long after the last write reports 0 lag, after it: idle.
const IDLE_AFTER: f64 = 2.0;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Advances the state from `t` to `t + DT`.
pub fn substep(s: &mut WorldState, fx: &Effects, rng: &mut Jitter, t: f64, ev: &mut Events) {
    let now = t + DT;
    migration_and_wal(s, fx, rng, now, ev);
    replicas(s, fx, now, ev);
    slots(s, now, ev);
    volumes(s, now, ev);
    pods::app(s, fx, rng, now, ev);
    snapshots(s, now, ev);
}

/// Recomputes derived figures (lags, volume usage, error rate) without advancing time.
pub fn settle(s: &mut WorldState, now: f64) {
    let mut sink = Events::new();
    for r in &mut s.replicas {
        r.time_lag = time_lag(r, &s.primary, now);
    }
    volumes(s, now, &mut sink);
    s.app.error_rate = pods::error_rate(s, None);
}

fn migration_and_wal(
    s: &mut WorldState,
    fx: &Effects,
    rng: &mut Jitter,
    now: f64,
    ev: &mut Events,
) {
    let p = &mut s.primary;
    let m = &mut s.migration;
    let mut wal = 0.0;
    if !p.writes_blocked {
        wal += p.base_wal_rate * rng.factor(0.08) * DT;
    }

    // gh-ost style: the first control replica over the limit holds the backfill.
    if matches!(m.phase, MigrationPhase::Running | MigrationPhase::Throttled) {
        let reason = m.throttle_replicas.iter().find_map(|&i| {
            let r = s.replicas.get(i)?;
            let lag = r.time_lag?;
            (lag > m.throttle_max_lag).then(|| {
                format!(
                    "{} lag {:.1}s > {}",
                    r.name,
                    lag,
                    fmt_duration(std::time::Duration::from_secs_f64(m.throttle_max_lag))
                )
            })
        });
        match (reason, m.phase) {
            (Some(why), phase) => {
                if phase == MigrationPhase::Running && now - m.throttle_reported_at >= 30.0 {
                    push_event(
                        ev,
                        now,
                        Severity::Warn,
                        format!("{} throttled: {why}", m.name),
                    );
                    m.throttle_reported_at = now;
                }
                m.phase = MigrationPhase::Throttled;
                m.throttle = Some(why);
            }
            (None, MigrationPhase::Throttled) => {
                if now - m.throttle_reported_at >= 30.0 {
                    push_event(
                        ev,
                        now,
                        Severity::Info,
                        format!("{} no longer throttled", m.name),
                    );
                    m.throttle_reported_at = now;
                }
                m.phase = MigrationPhase::Running;
                m.throttle = None;
            }
            _ => {}
        }
    }

    if m.phase == MigrationPhase::Running {
        if p.writes_blocked {
            let msg =
                "could not extend file \"base/16384/24601\": No space left on device".to_string();
            push_event(ev, now, Severity::Crit, format!("{} failed: {msg}", m.name));
            m.phase = MigrationPhase::Failed;
            m.error = Some(msg);
        } else {
            let remaining = (m.rows_total - m.rows_done) as f64 - m.batch_progress;
            let rows = (m.effective_rows_per_sec() * rng.factor(0.04) * DT).min(remaining.max(0.0));
            m.batch_progress += rows;
            // Aborted batches wrote their WAL and dead tuples too.
            wal += rows * m.bytes_per_row;
            p.heap_growth += rows * m.heap_bytes_per_row;
            loop {
                let batch_rows = m.batch.min(m.rows_total - m.rows_done);
                if batch_rows == 0 || m.batch_progress + 1e-6 < batch_rows as f64 {
                    break;
                }
                m.batch_progress = (m.batch_progress - batch_rows as f64).max(0.0);
                let failure = match &mut m.fail_budget {
                    Some((n, msg)) if *n > 0 => {
                        *n -= 1;
                        Some(msg.clone())
                    }
                    _ => fx.batch_failing.clone(),
                };
                if let Some(msg) = failure {
                    m.consecutive_failures += 1;
                    let first = m.rows_done;
                    if m.consecutive_failures > m.max_retries {
                        push_event(
                            ev,
                            now,
                            Severity::Crit,
                            format!("{} failed after {} retries: {msg}", m.name, m.max_retries),
                        );
                        m.phase = MigrationPhase::Failed;
                        m.error = Some(msg);
                        m.batch_progress = 0.0;
                        break;
                    }
                    push_event(
                        ev,
                        now,
                        Severity::Warn,
                        format!(
                            "{} batch at id {first} failed: {msg} (retry {}/{})",
                            m.name, m.consecutive_failures, m.max_retries
                        ),
                    );
                    continue;
                }
                m.consecutive_failures = 0;
                m.rows_done += batch_rows;
                m.batches_done += 1;
                if m.rows_done >= m.rows_total {
                    m.phase = MigrationPhase::Done;
                    m.batch_progress = 0.0;
                    push_event(
                        ev,
                        now,
                        Severity::Info,
                        format!("{} backfill complete", m.name),
                    );
                    break;
                }
            }
        }
    }
    m.rows_window.record(now, m.rows_done as f64);

    p.lsn += wal;
    if wal > 0.0 {
        p.last_write_at = now;
    }
    record_mark(&mut p.marks, p.lsn, now);
    // Broken replicas too: their lag keeps growing (to MAX_MARKS of history).
    let oldest_needed = s.replicas.iter().map(|r| r.replayed).fold(p.lsn, f64::min);
    prune_marks(&mut p.marks, oldest_needed);
    p.wal_window.record(now, p.lsn);
}

/// Keeps `(lsn, time)` marks about `MARK_SPACING` apart; a flat stretch stays two marks.
fn record_mark(marks: &mut VecDeque<(f64, f64)>, lsn: f64, now: f64) {
    let n = marks.len();
    match marks.back().copied() {
        Some((l, t)) if now - t < MARK_SPACING - 1e-9 => {
            // Too soon for a new mark; extend a flat stretch instead.
            if l == lsn && n >= 2 && marks[n - 2].0 == lsn {
                marks[n - 1].1 = now;
            }
        }
        Some((l, _)) if l == lsn && n >= 2 && marks[n - 2].0 == lsn => marks[n - 1].1 = now,
        _ => marks.push_back((lsn, now)),
    }
}

fn prune_marks(marks: &mut VecDeque<(f64, f64)>, oldest_needed: f64) {
    while marks.len() > 2 && marks.get(1).is_some_and(|(l, _)| *l <= oldest_needed) {
        marks.pop_front();
    }
    while marks.len() > MAX_MARKS {
        marks.pop_front();
    }
}

/// When the WAL at `lsn` was written, interpolating between marks (binary search: the
/// marks' LSNs never decrease).
fn written_at(p: &Primary, lsn: f64, now: f64) -> f64 {
    let i = p.marks.partition_point(|(l, _)| *l <= lsn);
    let (l1, t1) = p.marks.get(i).copied().unwrap_or((p.lsn, now));
    if l1 <= lsn {
        return now;
    }
    match i.checked_sub(1).and_then(|j| p.marks.get(j)) {
        Some(&(l0, t0)) if l1 > l0 => t0 + (lsn - l0) / (l1 - l0) * (t1 - t0),
        _ => t1,
    }
}

/// Age of the oldest WAL not yet replayed; `None` when idle (nothing outstanding, no recent writes).
fn time_lag(r: &Replica, p: &Primary, now: f64) -> Option<f64> {
    if r.byte_lag(p.lsn) > 0.5 {
        Some((now - written_at(p, r.replayed, now)).max(0.0))
    } else if now - p.last_write_at <= IDLE_AFTER {
        Some(0.0)
    } else {
        None
    }
}

fn replicas(s: &mut WorldState, fx: &Effects, now: f64, ev: &mut Events) {
    let lsn = s.primary.lsn;
    for (i, r) in s.replicas.iter_mut().enumerate() {
        let bandwidth = fx
            .bandwidth
            .get(i)
            .copied()
            .flatten()
            .unwrap_or(r.bandwidth);
        let connected = bandwidth > 0.0 && r.broken.is_none();
        if connected {
            let room = match r.volume.and_then(|v| s.volumes.get(v)) {
                Some(v) => (v.capacity - v.used).max(0.0),
                None => f64::INFINITY,
            };
            let recv = (lsn - r.flushed).max(0.0).min(bandwidth * DT).min(room);
            r.flushed += recv;
        }
        let stalled = fx.stalled.get(i).copied().unwrap_or(false) || r.replay_paused;
        if !stalled && r.broken.is_none() {
            r.replayed += (r.flushed - r.replayed).max(0.0).min(r.apply_rate * DT);
        }
        let state = if !connected {
            ReplicaState::Disconnected
        } else if stalled {
            ReplicaState::Stalled
        } else if r.catchup || r.state == ReplicaState::Disconnected {
            ReplicaState::Catchup
        } else {
            ReplicaState::Streaming
        };
        r.catchup = state == ReplicaState::Catchup && r.byte_lag(lsn) > 16.0 * 1024.0 * 1024.0;
        let state = if state == ReplicaState::Catchup && !r.catchup {
            ReplicaState::Streaming
        } else {
            state
        };
        if state != r.state {
            let (sev, what) = match state {
                ReplicaState::Disconnected => (
                    Severity::Crit,
                    r.broken
                        .clone()
                        .unwrap_or_else(|| "disconnected from the primary".to_string()),
                ),
                ReplicaState::Stalled if r.replay_paused => {
                    (Severity::Warn, "replay paused".to_string())
                }
                ReplicaState::Stalled => (
                    Severity::Warn,
                    "connected but not replaying WAL".to_string(),
                ),
                ReplicaState::Catchup => (Severity::Info, "reconnected, catching up".to_string()),
                ReplicaState::Streaming => (Severity::Info, "streaming".to_string()),
            };
            push_event(ev, now, sev, format!("{}: {what}", r.name));
            r.state = state;
        }
        r.time_lag = time_lag(r, &s.primary, now);
    }
}

fn slots(s: &mut WorldState, now: f64, ev: &mut Events) {
    let p = &s.primary;
    for slot in &mut s.slots {
        if slot.lost {
            continue;
        }
        if let Some(r) = slot.replica.and_then(|i| s.replicas.get(i))
            && r.broken.is_none()
        {
            slot.restart_lsn = slot.restart_lsn.max(r.flushed);
        }
        let retained = slot.retained(p.lsn);
        let level = if retained >= GIB {
            (retained / GIB).log2().floor() as u32 + 1
        } else {
            0
        };
        if level > slot.reported_level {
            push_event(
                ev,
                now,
                if retained >= 8.0 * GIB {
                    Severity::Crit
                } else {
                    Severity::Warn
                },
                format!(
                    "slot {} retains {} of WAL on {}",
                    slot.name,
                    fmt_bytes(retained as u64),
                    p.name
                ),
            );
            slot.reported_level = level;
        } else if level + 1 < slot.reported_level {
            slot.reported_level = level + 1;
        }
        match (slot.wal_status(p), slot.unreserved_since) {
            ("unreserved", None) => {
                slot.unreserved_since = Some(now);
                push_event(
                    ev,
                    now,
                    Severity::Crit,
                    format!(
                        "slot {} is past max_slot_wal_keep_size; WAL will be removed at the next checkpoint",
                        slot.name
                    ),
                );
            }
            // A checkpoint comes round and removes the WAL.
            ("unreserved", Some(since)) if now - since >= 30.0 => {
                slot.lost = true;
                push_event(
                    ev,
                    now,
                    Severity::Crit,
                    format!("slot {} lost: its WAL was removed", slot.name),
                );
                if let Some(r) = slot.replica.and_then(|i| s.replicas.get_mut(i)) {
                    r.broken = Some(
                        "requested WAL segment has already been removed; needs a rebuild"
                            .to_string(),
                    );
                }
            }
            ("unreserved", Some(_)) => {}
            _ => slot.unreserved_since = None,
        }
    }
    // A replica streaming without a slot loses what the primary recycled past max_wal_size.
    for (i, r) in s.replicas.iter_mut().enumerate() {
        let has_slot = s.slots.iter().any(|sl| sl.replica == Some(i) && !sl.lost);
        if !has_slot && r.broken.is_none() && p.lsn - r.flushed > p.max_wal_size {
            r.broken =
                Some("requested WAL segment has already been removed; needs a rebuild".to_string());
        }
    }
}

/// Retention levels reported as events: 0 below 1 GiB, then 1 for 1 GiB, 2 for 2 GiB, 3 for 4 GiB…
pub fn retention_level(retained: f64) -> u32 {
    if retained >= GIB {
        (retained / GIB).log2().floor() as u32 + 1
    } else {
        0
    }
}

fn volumes(s: &mut WorldState, now: f64, ev: &mut Events) {
    let p = &s.primary;
    let retained = s
        .slots
        .iter()
        .map(|sl| sl.retained(p.lsn))
        .fold(0.0, f64::max);
    let wal_extra = (retained - p.max_wal_size).max(0.0);
    let mut primary_full = None;
    for (i, v) in s.volumes.iter_mut().enumerate() {
        let mut used = v.base_used + v.fill;
        if p.volume == Some(i) {
            used += p.heap_growth + wal_extra;
        }
        for r in s.replicas.iter().filter(|r| r.volume == Some(i)) {
            used += (r.flushed - r.replayed).max(0.0);
        }
        v.used = used.clamp(0.0, v.capacity);
        v.window.record(now, v.used);
        let pct = v.used / v.capacity * 100.0;
        let level = if pct >= 99.999 {
            100
        } else if pct >= 90.0 {
            90
        } else if pct >= 80.0 {
            80
        } else {
            0
        };
        if level > v.reported_pct {
            let text = if level == 100 {
                format!(
                    "volume {} is full ({})",
                    v.name,
                    fmt_bytes(v.capacity as u64)
                )
            } else {
                format!(
                    "volume {} over {level}% ({} of {})",
                    v.name,
                    fmt_bytes(v.used as u64),
                    fmt_bytes(v.capacity as u64)
                )
            };
            push_event(
                ev,
                now,
                if level >= 90 {
                    Severity::Crit
                } else {
                    Severity::Warn
                },
                text,
            );
            v.reported_pct = level;
        } else if pct < v.reported_pct as f64 - 2.0 {
            v.reported_pct = level;
        }
        if p.volume == Some(i) {
            primary_full = Some(pct >= 99.999);
        }
    }
    if let Some(full) = primary_full {
        let p = &mut s.primary;
        if full && !p.writes_blocked {
            p.writes_blocked = true;
            push_event(
                ev,
                now,
                Severity::Crit,
                format!(
                    "{}: could not write to file \"pg_wal/xlogtemp\": No space left on device; writes failing",
                    p.name
                ),
            );
        } else if !full && p.writes_blocked {
            p.writes_blocked = false;
            push_event(
                ev,
                now,
                Severity::Info,
                format!("{}: accepting writes again", p.name),
            );
        }
    }
}

fn snapshots(s: &mut WorldState, now: f64, ev: &mut Events) {
    for snap in &mut s.snapshots {
        if snap.state == SnapshotState::Pending && now >= snap.ready_at {
            snap.state = SnapshotState::Ready;
            push_event(
                ev,
                now,
                Severity::Info,
                format!("snapshot {} ready", snap.name),
            );
        }
    }
}
