//! Physics, fault and control tests for the drill world, on small scenarios written inline.
//! Each test names the behaviour a responder would see in the panes.

use std::time::Duration;

use super::*;
use crate::diag::SourceFile;
use crate::sources::{MigrationPhase, ReplicaState};

/// A small world: base WAL `wal`, replica-1 with `bw` bandwidth, backfill `rps` rows/s
/// (`state`), and extra TOML appended (faults, slots).
pub(super) fn scenario(wal: &str, bw: &str, rps: u32, state: &str, extra: &str) -> Scenario {
    let text = format!(
        r#"
[scenario]
name = "t"
title = "t"
description = "t"

[primary]
name = "db-0"
wal_rate = "{wal}"
volume = "pg"

[[replica]]
name = "replica-1"
apply_rate = "40MiB/s"
bandwidth = "{bw}"
volume = "r1"

[[volume]]
name = "pg"
owner = "db-0 data+wal"
capacity = "100GiB"
used = "50GiB"

[[volume]]
name = "r1"
owner = "replica-1"
capacity = "100GiB"
used = "50GiB"

[app]
statefulset = "app"
replicas = 4
current_revision = "old"
update_revision = "new"

[[app.revision]]
name = "new"
version = "v2"
schemas = ["2"]

[[app.revision]]
name = "old"
version = "v1"
schemas = ["1", "2"]

[[app.flag]]
name = "f"
enabled = false
requires_schema = "2"

[migration]
name = "m"
from_schema = "1"
to_schema = "2"
rows_total = 100_000_000
batch = 1000
rows_per_sec = {rps}
bytes_per_row = "1000B"
heap_bytes_per_row = "100B"
throttle_max_lag = "1h"
state = "{state}"
{extra}
"#
    );
    match Scenario::parse(&SourceFile::new("t.toml", text)) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

fn run(w: &mut World, secs: u64) {
    w.step(Duration::from_secs(secs));
}

fn lag(w: &World) -> Option<f64> {
    w.state().replicas[0].time_lag
}

fn byte_lag(w: &World) -> f64 {
    w.state().replicas[0].byte_lag(w.state().primary.lsn)
}

#[test]
fn lag_grows_when_wal_outruns_the_replica_and_shrinks_after() {
    // 10 MB/s backfill + 1 MiB/s base into a 5 MiB/s link.
    let mut w = World::new(&scenario("1MiB/s", "5MiB/s", 10_000, "running", ""), 1);
    run(&mut w, 10);
    let (l1, b1) = (lag(&w).unwrap_or(0.0), byte_lag(&w));
    run(&mut w, 10);
    let (l2, b2) = (lag(&w).unwrap_or(0.0), byte_lag(&w));
    assert!(l2 > l1 && l1 > 1.0, "time lag grows: {l1} -> {l2}");
    assert!(b2 > b1, "byte lag grows: {b1} -> {b2}");
    w.apply(WorldControl::PauseBackfill).unwrap();
    run(&mut w, 5);
    assert!(
        byte_lag(&w) < b2,
        "byte lag shrinks once WAL is below the link"
    );
    run(&mut w, 60);
    assert!(lag(&w).unwrap_or(99.0) < 0.5, "caught up: {:?}", lag(&w));
}

#[test]
fn idle_when_nothing_flows() {
    let mut w = World::new(&scenario("0B/s", "5MiB/s", 10_000, "paused", ""), 1);
    run(&mut w, 5);
    assert_eq!(lag(&w), None, "idle is None, not zero");
    let mut busy = World::new(&scenario("1MiB/s", "50MiB/s", 10_000, "paused", ""), 1);
    run(&mut busy, 5);
    assert_eq!(lag(&busy), Some(0.0), "caught up while WAL flows is zero");
}

#[test]
fn slot_retention_grows_the_primary_volume() {
    let mut w = World::new(&scenario("1MiB/s", "5MiB/s", 10_000, "running", ""), 1);
    let start = w.state().volumes[0].used;
    run(&mut w, 600);
    let s = w.state();
    let retained = s.slots[0].retained(s.primary.lsn);
    assert!(
        retained > 3.0 * 1024.0 * 1024.0 * 1024.0,
        "slot retains: {retained}"
    );
    let grown = s.volumes[0].used - start;
    assert!(
        grown > retained - 1.1 * 1024.0 * 1024.0 * 1024.0,
        "volume counts it: {grown}"
    );
    assert!(
        s.volumes[0].window.rate() > 5e6,
        "growth rate {}",
        s.volumes[0].window.rate()
    );
    // Dropping the slot gives the space back.
    let before = s.volumes[0].used;
    w.apply(WorldControl::DropSlot {
        name: "replica_1".into(),
    })
    .unwrap();
    run(&mut w, 1);
    assert!(w.state().volumes[0].used < before - 2e9);
    // The replica was far behind without a slot: its WAL is gone.
    assert!(w.state().replicas[0].broken.is_some());
}

#[test]
fn full_volume_stops_writes_and_fails_the_backfill() {
    let extra = r#"
[[fault]]
at = "1s"
kind = "disk_fill"
volume = "pg"
bytes = "50GiB"
"#;
    let mut w = World::new(&scenario("1MiB/s", "50MiB/s", 10_000, "running", extra), 1);
    run(&mut w, 5);
    let s = w.state();
    assert!(s.primary.writes_blocked);
    assert_eq!(s.migration.phase, MigrationPhase::Failed);
    assert!(s.volumes[0].used <= s.volumes[0].capacity);
    assert!(
        s.app.error_rate > 0.3,
        "writes failing shows: {}",
        s.app.error_rate
    );
}

#[test]
fn down_migrating_under_the_new_revision_raises_errors() {
    let mut w = World::new(&scenario("1MiB/s", "50MiB/s", 10_000, "paused", ""), 1);
    run(&mut w, 2);
    assert!(w.state().app.error_rate < 0.01);
    w.apply(WorldControl::DownMigrate).unwrap();
    run(&mut w, 1);
    assert!(
        w.state().app.error_rate > 0.5,
        "{}",
        w.state().app.error_rate
    );
    assert_eq!(w.state().migration.phase, MigrationPhase::RolledBack);
    // Rolling the pods back to the old revision fixes it, one pod at a time.
    w.apply(WorldControl::SetAppRevision("old".into())).unwrap();
    run(&mut w, 120);
    assert!(
        w.state().app.error_rate < 0.01,
        "{}",
        w.state().app.error_rate
    );
    assert_eq!(w.state().app.current_revision, "old");
    let events = w.drain_events();
    assert!(
        events.iter().any(|e| e.text.contains("error rate")),
        "{events:?}"
    );
}

#[test]
fn down_migrating_a_running_backfill_fails_it() {
    let mut w = World::new(&scenario("1MiB/s", "50MiB/s", 10_000, "running", ""), 1);
    w.apply(WorldControl::DownMigrate).unwrap();
    assert_eq!(w.state().migration.phase, MigrationPhase::Failed);
    assert!(w.apply(WorldControl::DownMigrate).is_err(), "already down");
}

#[test]
fn pause_and_batch_size_change_the_backfill() {
    let mut w = World::new(&scenario("1MiB/s", "50MiB/s", 10_000, "running", ""), 1);
    run(&mut w, 20);
    let fast = w.state().migration.rows_window.rate();
    w.apply(WorldControl::SetBatchSize(100)).unwrap();
    run(&mut w, 20);
    let slow = w.state().migration.rows_window.rate();
    assert!(
        slow < fast * 0.5,
        "small batches are slower: {fast} -> {slow}"
    );
    w.apply(WorldControl::PauseBackfill).unwrap();
    let done = w.state().migration.rows_done;
    run(&mut w, 20);
    assert_eq!(w.state().migration.rows_done, done);
    assert!(w.apply(WorldControl::SetBatchSize(0)).is_err());
}

#[test]
fn flag_against_the_wrong_schema_raises_errors() {
    let mut w = World::new(&scenario("1MiB/s", "50MiB/s", 10_000, "paused", ""), 1);
    w.apply(WorldControl::SetAppRevision("old".into())).unwrap(); // all pods back to v1
    run(&mut w, 60);
    assert!(w.apply(WorldControl::SetAppPartition(5)).is_err());
    w.apply(WorldControl::DownMigrate).unwrap();
    run(&mut w, 2);
    assert!(w.state().app.error_rate < 0.01);
    w.apply(WorldControl::SetFlag {
        name: "f".into(),
        enabled: true,
    })
    .unwrap();
    run(&mut w, 1);
    assert!(w.state().app.error_rate > 0.2);
    assert!(
        w.apply(WorldControl::SetFlag {
            name: "nope".into(),
            enabled: true
        })
        .is_err()
    );
}

#[test]
fn snapshot_becomes_ready() {
    let mut w = World::new(&scenario("1MiB/s", "50MiB/s", 10_000, "paused", ""), 1);
    w.apply(WorldControl::TakeSnapshot {
        volume: "pg".into(),
        name: None,
    })
    .unwrap();
    assert_eq!(w.state().snapshots[0].state, SnapshotState::Pending);
    run(&mut w, 120);
    assert_eq!(w.state().snapshots[0].state, SnapshotState::Ready);
    assert!(
        w.apply(WorldControl::TakeSnapshot {
            volume: "x".into(),
            name: None,
        })
        .is_err()
    );
}

#[test]
fn apply_stall_stops_replay_and_fills_the_replica_volume() {
    let extra = r#"
[[fault]]
at = "0s"
kind = "replica_apply_stall"
replica = "replica-1"
duration = "30s"
"#;
    let mut w = World::new(&scenario("1MiB/s", "50MiB/s", 10_000, "running", extra), 1);
    run(&mut w, 20);
    assert_eq!(w.state().replicas[0].state, ReplicaState::Stalled);
    assert!(lag(&w).unwrap_or(0.0) > 15.0);
    assert!(w.state().volumes[1].used > 50.0 * 1024.0 * 1024.0 * 1024.0 + 1e8);
    run(&mut w, 60);
    assert_ne!(w.state().replicas[0].state, ReplicaState::Stalled);
    assert!(lag(&w).unwrap_or(99.0) < 1.0);
}

#[test]
fn partition_disconnects_and_reconnects() {
    let extra = r#"
[[fault]]
at = "1s"
kind = "network_degradation"
replica = "replica-1"
factor = 0.0
duration = "10s"
"#;
    let mut w = World::new(
        &scenario("1MiB/s", "50MiB/s", 10_000, "paused", extra).clone(),
        1,
    );
    run(&mut w, 5);
    assert_eq!(w.state().replicas[0].state, ReplicaState::Disconnected);
    run(&mut w, 30);
    assert_eq!(w.state().replicas[0].state, ReplicaState::Streaming);
    let ev = w.drain_events();
    assert!(ev.iter().any(|e| e.text.contains("fault ended")), "{ev:?}");
}

#[test]
fn batch_failures_retry_then_fail() {
    let counted = r#"
[[fault]]
at = "1s"
kind = "migration_batch_failure"
message = "deadlock detected"
count = 2
"#;
    let mut w = World::new(
        &scenario("1MiB/s", "50MiB/s", 10_000, "running", counted),
        1,
    );
    run(&mut w, 10);
    assert_eq!(
        w.state().migration.phase,
        MigrationPhase::Running,
        "two failures are retried"
    );
    let forever = r#"
[[fault]]
at = "1s"
kind = "migration_batch_failure"
message = "deadlock detected"
"#;
    let mut w = World::new(
        &scenario("1MiB/s", "50MiB/s", 10_000, "running", forever),
        1,
    );
    run(&mut w, 10);
    assert_eq!(w.state().migration.phase, MigrationPhase::Failed);
    assert_eq!(
        w.state().migration.error.as_deref(),
        Some("deadlock detected")
    );
}

#[test]
fn crashloop_backs_off_and_rollback_cures_it() {
    let extra = r#"
[[fault]]
at = "0s"
kind = "crashloop"
revision = "new"
"#;
    let mut w = World::new(&scenario("1MiB/s", "50MiB/s", 10_000, "paused", extra), 1);
    run(&mut w, 60);
    let a = &w.state().app;
    assert!(a.pods.iter().all(|p| p.crashloop && p.restarts >= 2));
    assert_eq!(a.error_rate, 1.0, "no ready pods");
    w.apply(WorldControl::SetAppRevision("old".into())).unwrap();
    run(&mut w, 120);
    assert!(
        w.state()
            .app
            .pods
            .iter()
            .all(|p| p.ready() && p.revision == "old")
    );
    assert!(w.state().app.error_rate < 0.01);
}

#[test]
fn source_outage_and_pod_crash_are_visible() {
    let extra = r#"
[[fault]]
at = "2s"
kind = "source_outage"
source = "db"
duration = "5s"

[[fault]]
at = "0s"
kind = "crashloop"
pod = 3
"#;
    let mut w = World::new(&scenario("1MiB/s", "50MiB/s", 10_000, "paused", extra), 1);
    assert!(!w.source_outage(OutageSource::Db));
    run(&mut w, 3);
    assert!(w.source_outage(OutageSource::Db));
    assert!(!w.source_outage(OutageSource::App));
    assert!(w.state().app.pods[3].crashloop && !w.state().app.pods[2].crashloop);
    run(&mut w, 5);
    assert!(!w.source_outage(OutageSource::Db));
}

#[test]
fn disk_fill_rate_grows_and_is_released() {
    let extra = r#"
[[fault]]
at = "0s"
kind = "disk_fill"
volume = "r1"
rate = "100MiB/s"
duration = "20s"
"#;
    let mut w = World::new(&scenario("0B/s", "50MiB/s", 10_000, "paused", extra), 1);
    run(&mut w, 15);
    let v = &w.state().volumes[1];
    assert!(
        v.window.rate() > 90.0 * 1024.0 * 1024.0,
        "{}",
        v.window.rate()
    );
    run(&mut w, 10);
    assert!((w.state().volumes[1].used - 50.0 * 1024.0 * 1024.0 * 1024.0).abs() < 1.0);
}

#[test]
fn keep_size_invalidates_a_lagging_slot() {
    let mut sc = scenario("1MiB/s", "1MiB/s", 10_000, "running", "");
    sc.primary.max_slot_wal_keep_size = Some(2.0 * 1024.0 * 1024.0 * 1024.0);
    let mut w = World::new(&sc, 1);
    run(&mut w, 400);
    let s = w.state();
    assert_eq!(s.slots[0].wal_status(&s.primary), "lost");
    assert_eq!(s.replicas[0].state, ReplicaState::Disconnected);
}

#[test]
fn steps_are_split_and_carried() {
    let sc = scenario("1MiB/s", "5MiB/s", 10_000, "running", "");
    let mut a = World::new(&sc, 9);
    let mut b = World::new(&sc, 9);
    a.step(Duration::from_secs(3));
    for _ in 0..12 {
        b.step(Duration::from_millis(250));
    }
    assert_eq!(a.elapsed(), Duration::from_secs(3));
    assert_eq!(a.state_digest(), b.state_digest());
    assert_eq!(a, b);
}

#[test]
fn stuck_pods_are_read_from_the_app_table() {
    let text = include_str!("../../../tests/invalid/scenarios/stuck-pod-out-of-range.toml")
        .replace("[1, 4]", "[1, 3]");
    let sc = match Scenario::parse(&SourceFile::new("t.toml", text)) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(sc.app.stuck_pods, [1, 3]);
    let w = World::new(&sc, 1);
    let stuck: Vec<u32> = w
        .state()
        .app
        .pods
        .iter()
        .filter(|p| p.stuck)
        .map(|p| p.ordinal)
        .collect();
    assert_eq!(stuck, [1, 3]);
}

#[test]
fn a_stuck_pod_holds_the_rollout_until_it_is_deleted() {
    let extra = r#"
[[fault]]
at = "0s"
kind = "crashloop"
revision = "new"
"#;
    let mut sc = scenario("1MiB/s", "50MiB/s", 10_000, "paused", extra);
    sc.app.stuck_pods = vec![3];
    let mut w = World::new(&sc, 1);
    run(&mut w, 30);
    w.apply(WorldControl::SetAppRevision("old".into())).unwrap();
    run(&mut w, 120);
    let revisions = |w: &World| -> Vec<String> {
        w.state()
            .app
            .pods
            .iter()
            .map(|p| p.revision.clone())
            .collect()
    };
    // The controller waits for pod 3, highest first: nothing below it moves either.
    assert_eq!(revisions(&w), ["new", "new", "new", "new"]);
    w.apply(WorldControl::DeletePod { ordinal: 3 }).unwrap();
    assert!(!w.state().app.pods[3].stuck && !w.state().app.pods[3].ready());
    run(&mut w, 120);
    assert_eq!(revisions(&w), ["old", "old", "old", "old"]);
    assert!(w.state().app.pods.iter().all(|p| p.ready()));
    assert!(
        w.apply(WorldControl::DeletePod { ordinal: 9 })
            .unwrap_err()
            .to_string()
            .contains("app-9")
    );
}

#[test]
fn pods_below_the_partition_keep_their_revision() {
    let mut sc = scenario("1MiB/s", "50MiB/s", 10_000, "paused", "");
    // A half-done rollout: pods 0 and 1 on old (below the partition), 2 and 3 on new.
    sc.app.partition = 2;
    let mut w = World::new(&sc, 1);
    let on = |w: &World, rev: &str| -> Vec<u32> {
        let a = &w.state().app;
        a.pods
            .iter()
            .filter(|p| p.revision == rev)
            .map(|p| p.ordinal)
            .collect()
    };
    assert_eq!(on(&w, "new"), [2, 3]);
    // Raising the partition reverts nothing.
    w.apply(WorldControl::SetAppPartition(4)).unwrap();
    run(&mut w, 60);
    assert_eq!(on(&w, "new"), [2, 3]);
    w.apply(WorldControl::SetAppPartition(1)).unwrap();
    run(&mut w, 60);
    assert_eq!(on(&w, "new"), [1, 2, 3]);
}

#[test]
fn scaling_removes_the_highest_ordinals_and_adds_starting_pods() {
    let mut w = World::new(&scenario("1MiB/s", "50MiB/s", 10_000, "paused", ""), 1);
    w.apply(WorldControl::ScaleApp(2)).unwrap();
    assert_eq!(w.state().app.pods.len(), 2);
    w.apply(WorldControl::ScaleApp(3)).unwrap();
    let p = &w.state().app.pods[2];
    assert!(p.ordinal == 2 && p.revision == "new" && !p.ready());
    run(&mut w, 30);
    assert!(w.state().app.pods.iter().all(|p| p.ready()));
}
