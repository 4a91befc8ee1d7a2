//! The drill source: observes the simulated world and sends what it sees as `Observation`s,
//! live (a tokio task pacing the world against real time) or replayed deterministically.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::sim::world::{OutageSource, SharedWorld, World, WorldState};
use crate::sources::{
    AppSnapshot, MigrationSnapshot, MigrationStatus, Observation, Payload, PodStatus,
    ReplicaStatus, ReplicationSnapshot, SlotStatus, SnapshotStatus, SourceEvent, SourceId,
    StorageSnapshot, VolumeStatus,
};
use crate::text::DisplayText;
use crate::time::Timestamp;

/// Source carrying Replication, Migrations and Storage.
pub const DB_SOURCE: &str = "sim:db";
/// Source carrying App.
pub const APP_SOURCE: &str = "sim:app";
/// Source carrying the world's events (never in an outage: it is the drill's own log).
pub const EVENTS_SOURCE: &str = "sim:events";
/// Source carrying the objectives' score (never in an outage: the drill judges itself).
pub const SCORE_SOURCE: &str = "sim:score";

const OUTAGE_ERROR: &str = "connection timed out after 2s";
const MIN_SPEED: f64 = 0.1;
const MAX_SPEED: f64 = 100.0;

/// Controls for a running drill source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DrillCommand {
    /// World seconds per real second, clamped to [0.1, 100].
    SetSpeed(f64),
    /// Frozen: the world stops advancing but is still observed.
    Freeze(bool),
}

/// Maps the world as it is now to observations stamped `at`; drains its events.
pub fn observe(world: &mut World, at: Timestamp, interval: Duration) -> Vec<Observation> {
    let elapsed = world.elapsed();
    let obs = |source: &str, payload: Payload| Observation {
        source: SourceId(source.to_string()),
        at,
        interval,
        payload,
    };
    let mut out = Vec::new();
    let s = world.state();
    if world.source_outage(OutageSource::Db) || world.source_hidden(OutageSource::Db) {
        out.push(obs(
            DB_SOURCE,
            Payload::Error(DisplayText::new(OUTAGE_ERROR)),
        ));
    } else {
        out.push(obs(DB_SOURCE, Payload::Replication(replication(s))));
        out.push(obs(DB_SOURCE, Payload::Migrations(migrations(s))));
        out.push(obs(DB_SOURCE, Payload::Storage(storage(s, at, elapsed))));
    }
    if world.source_outage(OutageSource::App) || world.source_hidden(OutageSource::App) {
        out.push(obs(
            APP_SOURCE,
            Payload::Error(DisplayText::new(OUTAGE_ERROR)),
        ));
    } else {
        out.push(obs(APP_SOURCE, Payload::App(app(s))));
    }
    let events: Vec<SourceEvent> = world
        .drain_events()
        .into_iter()
        .map(|e| SourceEvent {
            // Back-dated by how long ago in world time it happened, never after `at`.
            at: Timestamp(at.0 - elapsed.saturating_sub(e.at).as_millis() as i64),
            severity: e.severity,
            text: DisplayText::new(&e.text),
        })
        .collect();
    if !events.is_empty() {
        out.push(obs(EVENTS_SOURCE, Payload::Events(events)));
    }
    if world.has_objectives() {
        out.push(obs(SCORE_SOURCE, Payload::Objectives(world.objectives())));
    }
    out
}

fn secs(x: f64) -> Duration {
    Duration::from_secs_f64(if x.is_finite() { x.max(0.0) } else { 0.0 })
}

fn bytes(x: f64) -> u64 {
    if x.is_finite() {
        x.max(0.0).round() as u64
    } else {
        0
    }
}

fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

fn replication(s: &WorldState) -> ReplicationSnapshot {
    let lsn = s.primary.lsn;
    ReplicationSnapshot {
        primary: DisplayText::new(&s.primary.name),
        wal_bytes_per_sec: finite(s.primary.wal_window.rate()).max(0.0),
        replicas: s
            .replicas
            .iter()
            .map(|r| ReplicaStatus {
                name: DisplayText::new(&r.name),
                state: r.state,
                time_lag: r.time_lag.map(secs),
                byte_lag: bytes(r.byte_lag(lsn)),
                replay_paused: r.replay_paused,
            })
            .collect(),
    }
}

fn migrations(s: &WorldState) -> MigrationSnapshot {
    let m = &s.migration;
    MigrationSnapshot {
        schema_version: DisplayText::new(&s.schema_version),
        migrations: vec![MigrationStatus {
            name: DisplayText::new(&m.name),
            phase: m.phase,
            rows_done: m.rows_done,
            rows_total: m.rows_total,
            rows_per_sec: finite(m.rows_window.rate()).max(0.0),
            batch_size: m.batch,
            throttle: m.throttle.as_deref().map(DisplayText::new),
            error: m.error.as_deref().map(DisplayText::new),
        }],
    }
}

fn storage(s: &WorldState, at: Timestamp, elapsed: Duration) -> StorageSnapshot {
    let now = elapsed.as_secs_f64();
    StorageSnapshot {
        volumes: s
            .volumes
            .iter()
            .map(|v| VolumeStatus {
                name: DisplayText::new(&v.name),
                owner: DisplayText::new(&v.owner),
                used_bytes: bytes(v.used).min(bytes(v.capacity)),
                capacity_bytes: bytes(v.capacity),
                growth_bytes_per_sec: finite(v.window.rate()),
            })
            .collect(),
        slots: s
            .slots
            .iter()
            .map(|sl| SlotStatus {
                name: DisplayText::new(&sl.name),
                active: sl.active()
                    && sl
                        .replica
                        .and_then(|i| s.replicas.get(i))
                        .is_some_and(|r| r.broken.is_none()),
                retained_bytes: bytes(sl.retained(s.primary.lsn)),
                wal_status: DisplayText::new(sl.wal_status(&s.primary)),
            })
            .collect(),
        snapshots: s
            .snapshots
            .iter()
            .map(|sn| SnapshotStatus {
                name: DisplayText::new(&sn.name),
                volume: DisplayText::new(
                    s.volumes
                        .get(sn.volume)
                        .map(|v| v.name.as_str())
                        .unwrap_or("?"),
                ),
                state: sn.state,
                created_at: Timestamp(at.0 - ((now - sn.created_at) * 1000.0).round() as i64),
            })
            .collect(),
    }
}

fn app(s: &WorldState) -> AppSnapshot {
    let a = &s.app;
    let pods: Vec<PodStatus> = a
        .pods
        .iter()
        .map(|p| {
            let (phase, reason) = if p.restarting_until.is_some() {
                ("Pending", Some("ContainerCreating"))
            } else if p.crashloop {
                ("Running", Some("CrashLoopBackOff"))
            } else {
                ("Running", None)
            };
            PodStatus {
                name: DisplayText::new(&a.pod_name(p.ordinal)),
                revision: DisplayText::new(&p.revision),
                phase: DisplayText::new(phase),
                ready: p.ready(),
                restarts: p.restarts,
                reason: reason.map(DisplayText::new),
            }
        })
        .collect();
    AppSnapshot {
        statefulset: DisplayText::new(&a.statefulset),
        replicas: pods.len() as u32,
        ready: pods.iter().filter(|p| p.ready).count() as u32,
        current_revision: DisplayText::new(&a.current_revision),
        update_revision: DisplayText::new(&a.update_revision),
        partition: a.partition,
        error_rate: finite(a.error_rate).clamp(0.0, 1.0),
        pods,
    }
}

/// Runs the drill live: observes at once, then every `interval` advances the world by
/// `interval × speed` (0 when frozen) and observes again. Ends when `tx` or `cmds` closes.
pub fn spawn(
    world: SharedWorld,
    speed: f64,
    interval: Duration,
    tx: mpsc::Sender<Observation>,
    mut cmds: mpsc::Receiver<DrillCommand>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut speed = speed.clamp(MIN_SPEED, MAX_SPEED);
        let mut frozen = false;
        let interval = interval.max(Duration::from_millis(10));
        let first = lock(&world).map(|mut w| observe(&mut w, Timestamp::now(), interval));
        if send_all(&tx, first.unwrap_or_default()).await.is_err() {
            return;
        }
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick completes at once; we already observed
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    let obs = lock(&world).map(|mut w| {
                        if !frozen {
                            w.step(interval.mul_f64(speed));
                        }
                        observe(&mut w, Timestamp::now(), interval)
                    });
                    if send_all(&tx, obs.unwrap_or_default()).await.is_err() {
                        return;
                    }
                }
                cmd = cmds.recv() => match cmd {
                    Some(DrillCommand::SetSpeed(x)) => {
                        speed = if x.is_finite() { x.clamp(MIN_SPEED, MAX_SPEED) } else { speed };
                    }
                    Some(DrillCommand::Freeze(f)) => frozen = f,
                    None => return,
                },
                _ = tx.closed() => return,
            }
        }
    })
}

/// The world's lock; a poisoned lock (a panic elsewhere while holding it) ends the source.
fn lock(world: &SharedWorld) -> Option<std::sync::MutexGuard<'_, World>> {
    world.lock().ok()
}

async fn send_all(tx: &mpsc::Sender<Observation>, obs: Vec<Observation>) -> Result<(), ()> {
    for o in obs {
        tx.send(o).await.map_err(|_| ())?;
    }
    Ok(())
}

/// Runs the world for `seconds`, observing at `start` and after every world second (stamped
/// `start + elapsed`); deterministic: the same world and seed give the same output.
pub fn replay(
    world: &mut World,
    start: Timestamp,
    seconds: u64,
    interval: Duration,
) -> Vec<Observation> {
    let base = world.elapsed();
    let mut out = observe(world, start, interval);
    for _ in 0..seconds {
        world.step(Duration::from_secs(1));
        let at = start.plus(world.elapsed().saturating_sub(base));
        out.extend(observe(world, at, interval));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::world::Scenario;

    fn world() -> World {
        let sc = Scenario::builtin(Scenario::default_name()).and_then(Result::ok);
        World::new(&sc.unwrap(), 42)
    }

    #[test]
    fn first_observation_has_every_payload() {
        let mut w = world();
        let obs = observe(&mut w, Timestamp(1_000), Duration::from_secs(1));
        let kinds: Vec<_> = obs
            .iter()
            .map(|o| (o.source.0.as_str(), o.payload.kind()))
            .collect();
        assert!(kinds.contains(&("sim:db", "replication")));
        assert!(kinds.contains(&("sim:db", "storage")));
        assert!(kinds.contains(&("sim:db", "migrations")));
        assert!(kinds.contains(&("sim:app", "app")));
        let m = obs.iter().find_map(|o| match &o.payload {
            Payload::Migrations(m) => Some(m.migrations[0].rows_per_sec),
            _ => None,
        });
        assert!(m.unwrap() > 1000.0, "rows/s shows at once: {m:?}");
    }

    #[test]
    fn replay_is_deterministic_and_monotone() {
        let a = replay(&mut world(), Timestamp(0), 30, Duration::from_secs(1));
        let b = replay(&mut world(), Timestamp(0), 30, Duration::from_secs(1));
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(a.last().map(|o| o.at), Some(Timestamp(30_000)));
    }

    #[test]
    fn outage_sends_an_error_instead_of_figures() {
        let text = include_str!("../../examples/scenarios/crashloop-new-revision.toml");
        let sc = Scenario::parse(&crate::diag::SourceFile::new("c.toml", text)).unwrap();
        let mut w = World::new(&sc, 1);
        w.step(Duration::from_secs(6 * 60 + 10));
        let obs = observe(&mut w, Timestamp(0), Duration::from_secs(1));
        let app: Vec<_> = obs.iter().filter(|o| o.source.0 == APP_SOURCE).collect();
        assert_eq!(app.len(), 1);
        assert!(matches!(app[0].payload, Payload::Error(_)));
        assert!(obs.iter().any(|o| o.payload.kind() == "replication"));
        let events = obs.iter().find_map(|o| match &o.payload {
            Payload::Events(e) => Some(e.clone()),
            _ => None,
        });
        let events = events.unwrap();
        assert!(events.windows(2).all(|p| p[0].at <= p[1].at));
        assert!(events.iter().all(|e| e.at <= Timestamp(0)));
    }

    #[tokio::test]
    async fn spawn_sends_at_once_and_stops_when_commands_close() {
        let (tx, mut rx) = mpsc::channel(64);
        let (ctx, crx) = mpsc::channel(4);
        let h = spawn(
            std::sync::Arc::new(std::sync::Mutex::new(world())),
            10.0,
            Duration::from_millis(20),
            tx,
            crx,
        );
        let first = rx.recv().await;
        assert!(first.is_some());
        ctx.send(DrillCommand::Freeze(true)).await.unwrap();
        drop(ctx);
        h.await.unwrap();
    }
}
