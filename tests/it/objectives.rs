//! Drill objectives on the built-in scenarios: each plan's rollback, done in time, meets
//! every objective; a drill where nobody acts misses the ones it should; the score is
//! deterministic and always observed under `sim:score`.

use std::time::Duration;

use ebb::sim::source::{SCORE_SOURCE, observe};
use ebb::sim::world::{ObjectiveState, ObjectiveStatus, Scenario, World, WorldControl};
use ebb::sources::{MigrationPhase, Payload};
use ebb::time::Timestamp;
use proptest::prelude::*;

fn world(name: &str, seed: u64) -> World {
    match Scenario::builtin(name) {
        Some(Ok(s)) => World::new(&s, seed),
        Some(Err(e)) => panic!("{e}"),
        None => panic!("no built-in {name}"),
    }
}

fn apply(w: &mut World, c: WorldControl) {
    if let Err(e) = w.apply(c.clone()) {
        panic!("{c:?} refused at {:?}: {e}", w.elapsed());
    }
}

/// Steps one world second at a time until `done` holds; panics after `max_secs`.
fn wait(w: &mut World, what: &str, max_secs: u64, done: impl Fn(&World) -> bool) {
    for _ in 0..max_secs {
        if done(w) {
            return;
        }
        w.step(Duration::from_secs(1));
    }
    panic!("{what}: not within {max_secs}s (at {:?})", w.elapsed());
}

fn step_to(w: &mut World, secs: u64) {
    let left = Duration::from_secs(secs).saturating_sub(w.elapsed());
    w.step(left);
}

/// A StatefulSet rollback as the drill's kubernetes actuator does it: template to `rev`,
/// partition lowered one ordinal at a time once that pod is Ready on it; a stuck pod deleted.
fn roll_back_app(w: &mut World, rev: &str) {
    let n = w.state().app.pods.len() as u32;
    apply(w, WorldControl::SetAppRevision(rev.to_string()));
    apply(w, WorldControl::SetAppPartition(n));
    loop {
        let p = w.state().app.partition;
        if p < n {
            for _ in 0..600 {
                let pod = &w.state().app.pods[p as usize];
                if pod.revision == rev && pod.ready() {
                    break;
                }
                if pod.held() {
                    apply(w, WorldControl::DeletePod { ordinal: p });
                }
                w.step(Duration::from_secs(1));
            }
        }
        if p == 0 {
            return;
        }
        apply(w, WorldControl::SetAppPartition(p - 1));
    }
}

fn error_rate_under_1pct(w: &World) -> bool {
    w.state().app.error_rate < 0.01
}

fn lag_under(w: &World, replica: usize, secs: f64) -> bool {
    w.state().replicas[replica]
        .time_lag
        .is_none_or(|l| l <= secs)
}

fn state_of<'a>(st: &'a [ObjectiveStatus], name: &str) -> &'a ObjectiveState {
    match st.iter().find(|o| o.name == name) {
        Some(o) => &o.state,
        None => panic!("no objective {name} in {st:#?}"),
    }
}

fn all_met(name: &str, w: &mut World) {
    w.finish_objectives();
    let st = w.objectives();
    assert!(st.len() >= 3, "{name}: 3 to 5 objectives: {st:#?}");
    for o in &st {
        assert!(o.fin, "{name}: final after finish");
        assert!(
            matches!(o.state, ObjectiveState::Met { .. }),
            "{name}: {} not met: {:?}",
            o.name,
            o.state
        );
    }
}

#[test]
fn backfill_slot_fill_plan_in_time_meets_every_objective() {
    let mut w = world("backfill-slot-fill", 1);
    w.step(Duration::from_secs(90));
    apply(&mut w, WorldControl::PauseBackfill);
    wait(&mut w, "replica-1 under 30s", 20 * 60, |w| {
        lag_under(w, 0, 30.0)
    });
    apply(
        &mut w,
        WorldControl::TakeSnapshot {
            volume: "pgdata-orders-db-0".into(),
            name: Some("before-down".into()),
        },
    );
    wait(&mut w, "snapshot ready", 15 * 60, |w| {
        w.state().snapshots.last().is_some_and(|s| {
            s.state == ebb::sources::SnapshotState::Ready && s.name == "before-down"
        })
    });
    apply(
        &mut w,
        WorldControl::SetFlag {
            name: "split_address_reads".into(),
            enabled: false,
        },
    );
    roll_back_app(&mut w, "orders-app-5c41");
    wait(&mut w, "errors under 1%", 15 * 60, error_rate_under_1pct);
    apply(&mut w, WorldControl::DownMigrate);
    step_to(&mut w, 35 * 60);
    all_met("backfill-slot-fill", &mut w);
}

#[test]
fn crashloop_plan_in_time_meets_every_objective() {
    let mut w = world("crashloop-new-revision", 1);
    w.step(Duration::from_secs(60));
    roll_back_app(&mut w, "orders-app-5c41");
    wait(&mut w, "errors under 1%", 15 * 60, error_rate_under_1pct);
    apply(
        &mut w,
        WorldControl::DeliverWebhook {
            method: "POST".into(),
            to: "INCIDENT_WEBHOOK_URL".into(),
        },
    );
    step_to(&mut w, 20 * 60);
    all_met("crashloop-new-revision", &mut w);
}

#[test]
fn network_partition_plan_in_time_meets_every_objective() {
    let mut w = world("network-partition-replica2", 1);
    w.step(Duration::from_secs(90));
    apply(&mut w, WorldControl::PauseBackfill);
    apply(
        &mut w,
        WorldControl::DeliverWebhook {
            method: "PUT".into(),
            to: "READ_POOL_URL".into(),
        },
    );
    wait(&mut w, "replica-1 under 5s", 5 * 60, |w| {
        lag_under(w, 0, 5.0)
    });
    apply(
        &mut w,
        WorldControl::DropSlot {
            name: "replica_2".into(),
        },
    );
    step_to(&mut w, 25 * 60);
    all_met("network-partition-replica2", &mut w);
}

#[test]
fn migration_batch_failure_plan_in_time_meets_every_objective() {
    let mut w = world("migration-batch-failure", 1);
    wait(&mut w, "backfill stopped", 10 * 60, |w| {
        w.state().migration.phase == MigrationPhase::Failed
    });
    apply(
        &mut w,
        WorldControl::TakeSnapshot {
            volume: "pgdata-orders-db-0".into(),
            name: None,
        },
    );
    apply(
        &mut w,
        WorldControl::SetFlag {
            name: "split_address_reads".into(),
            enabled: false,
        },
    );
    roll_back_app(&mut w, "orders-app-5c41");
    wait(&mut w, "errors under 1%", 15 * 60, error_rate_under_1pct);
    apply(&mut w, WorldControl::DownMigrate);
    step_to(&mut w, 35 * 60);
    all_met("migration-batch-failure", &mut w);
}

#[test]
fn abandoned_cdc_slot_plan_in_time_meets_every_objective() {
    let mut w = world("abandoned-cdc-slot", 1);
    w.step(Duration::from_secs(60));
    apply(
        &mut w,
        WorldControl::DropSlot {
            name: "debezium_orders".into(),
        },
    );
    step_to(&mut w, 15 * 60);
    all_met("abandoned-cdc-slot", &mut w);
}

/// Runs `name` for 40 minutes with nobody acting, then ends the drill.
fn nobody_acts(name: &str) -> Vec<ObjectiveStatus> {
    let mut w = world(name, 1);
    w.step(Duration::from_secs(40 * 60));
    w.finish_objectives();
    w.objectives()
}

fn missed(st: &[ObjectiveStatus], name: &str) -> bool {
    matches!(state_of(st, name), ObjectiveState::Missed { .. })
}

fn met(st: &[ObjectiveStatus], name: &str) -> bool {
    matches!(state_of(st, name), ObjectiveState::Met { .. })
}

#[test]
fn nobody_acting_misses_what_it_should() {
    let st = nobody_acts("backfill-slot-fill");
    assert_eq!(
        state_of(&st, "first-action"),
        &ObjectiveState::Missed {
            at_ms: 300_000,
            detail: "no action in the first 5m00s".into()
        }
    );
    for name in ["paused-before-90", "recovered", "no-data-loss"] {
        assert!(missed(&st, name), "backfill-slot-fill {name}: {st:#?}");
    }
    assert!(met(&st, "app-before-schema"), "{st:#?}");

    let st = nobody_acts("crashloop-new-revision");
    assert!(missed(&st, "first-action") && missed(&st, "recovered"));
    assert!(met(&st, "schema-untouched"), "{st:#?}");

    let st = nobody_acts("network-partition-replica2");
    for name in ["first-action", "slot-not-lost", "recovered"] {
        assert!(missed(&st, name), "network-partition {name}: {st:#?}");
    }
    assert!(met(&st, "replica-1-slot-kept"), "{st:#?}");

    let st = nobody_acts("migration-batch-failure");
    assert!(missed(&st, "first-action") && missed(&st, "rolled-back"));
    assert!(met(&st, "app-before-schema") && met(&st, "no-data-loss"));

    let st = nobody_acts("abandoned-cdc-slot");
    assert!(missed(&st, "first-action") && missed(&st, "wal-released"));
    assert!(met(&st, "standby-slots-kept") && met(&st, "no-data-loss"));
}

#[test]
fn every_builtin_declares_objectives() {
    for name in Scenario::builtin_names() {
        let w = world(name, 1);
        let n = w.objectives().len();
        assert!((3..=5).contains(&n), "{name}: {n} objectives");
        assert!(
            w.objectives()
                .iter()
                .all(|o| o.state == ObjectiveState::Pending)
        );
    }
}

#[test]
fn the_score_is_observed_under_its_own_source_even_in_an_outage() {
    // crashloop-new-revision: the app source is down from 6m to 6m45s.
    let mut w = world("crashloop-new-revision", 1);
    let start = Timestamp::from_secs(1_795_489_200);
    w.step(Duration::from_secs(6 * 60 + 10));
    let at = start.plus(w.elapsed());
    let obs = observe(&mut w, at, Duration::from_secs(1));
    assert!(obs.iter().any(|o| matches!(o.payload, Payload::Error(_))));
    let score: Vec<_> = obs.iter().filter(|o| o.source.0 == SCORE_SOURCE).collect();
    assert_eq!(score.len(), 1);
    match &score[0].payload {
        Payload::Objectives(st) => assert_eq!(st, &w.objectives()),
        other => panic!("{other:?}"),
    }
}

/// Controls a drill's responders might apply, in any order (some are refused).
fn control(i: u8) -> WorldControl {
    match i % 8 {
        0 => WorldControl::PauseBackfill,
        1 => WorldControl::ResumeBackfill,
        2 => WorldControl::DownMigrate,
        3 => WorldControl::TakeSnapshot {
            volume: "pgdata-orders-db-0".into(),
            name: None,
        },
        4 => WorldControl::DropSlot {
            name: "replica_1".into(),
        },
        5 => WorldControl::SetAppRevision("orders-app-5c41".into()),
        6 => WorldControl::SetFlag {
            name: "split_address_reads".into(),
            enabled: false,
        },
        _ => WorldControl::NoteAction {
            action: "run.pause".into(),
        },
    }
}

fn scored(seed: u64, script: &[(u16, u8)]) -> Vec<ObjectiveStatus> {
    let mut w = world("backfill-slot-fill", seed);
    for (secs, c) in script {
        w.step(Duration::from_secs(u64::from(*secs)));
        let _ = w.apply(control(*c));
    }
    w.step(Duration::from_secs(60));
    w.finish_objectives();
    w.objectives()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn same_seed_same_actions_same_score(
        seed in 0u64..1000,
        script in proptest::collection::vec((0u16..240, 0u8..8), 0..8),
    ) {
        prop_assert_eq!(scored(seed, &script), scored(seed, &script));
    }
}
