//! Each objective kind on a small inline world: met, missed, and pending until the drill
//! ends; decisions stick; default descriptions.

use std::time::Duration;

use super::tests::scenario;
use super::*;

/// The small test world (base WAL `1MiB/s`, backfill at `rps` rows/s) with `objectives`
/// (and any faults) appended.
fn world(rps: u32, state: &str, objectives: &str) -> World {
    World::new(&scenario("1MiB/s", "100MiB/s", rps, state, objectives), 1)
}

fn only(w: &World) -> ObjectiveStatus {
    let st = w.objectives();
    assert_eq!(st.len(), 1, "{st:#?}");
    st[0].clone()
}

fn secs(w: &mut World, s: u64) {
    w.step(Duration::from_secs(s));
}

fn is_met(st: &ObjectiveState) -> bool {
    matches!(st, ObjectiveState::Met { .. })
}

fn missed_at(st: &ObjectiveState) -> Option<(u64, &str)> {
    match st {
        ObjectiveState::Missed { at_ms, detail } => Some((*at_ms, detail.as_str())),
        _ => None,
    }
}

const FIRST: &str = r#"
[[objective]]
name = "first"
kind = "time_to_first_action"
within = "1m"
"#;

#[test]
fn first_action_met_missed_and_pending_until_the_end() {
    let mut w = world(1000, "running", FIRST);
    secs(&mut w, 30);
    w.apply(WorldControl::NoteAction {
        action: "run.pause".into(),
    })
    .unwrap();
    let o = only(&w);
    assert_eq!(
        o.state,
        ObjectiveState::Met {
            at_ms: 30_000,
            detail: "first action (run.pause) after 30s".into()
        }
    );
    assert_eq!(o.kind, "time_to_first_action");
    assert_eq!(o.description, "First action within 1m");
    assert!(!o.fin);

    let mut w = world(1000, "running", FIRST);
    secs(&mut w, 61);
    let st = only(&w).state;
    assert_eq!(
        missed_at(&st),
        Some((60_000, "no action in the first 1m00s"))
    );
    // A late action changes nothing: decisions stick.
    w.apply(WorldControl::PauseBackfill).unwrap();
    assert_eq!(only(&w).state, st);

    let mut w = world(1000, "running", FIRST);
    secs(&mut w, 10);
    assert_eq!(only(&w).state, ObjectiveState::Pending);
    w.finish_objectives();
    let o = only(&w);
    assert!(o.fin);
    assert_eq!(
        missed_at(&o.state).map(|m| m.1),
        Some("the drill ended before anyone acted")
    );
}

#[test]
fn a_refused_control_still_counts_as_an_action() {
    let mut w = world(1000, "paused", FIRST);
    secs(&mut w, 5);
    assert!(w.apply(WorldControl::SetBatchSize(0)).is_err());
    assert!(is_met(&only(&w).state));
}

/// The backfill grows `pg` (100 GiB, 50 % used) by ~9.5 MiB/s: 51 % after about 110 s.
const PAUSED: &str = r#"
[[objective]]
name = "paused"
kind = "paused_before"
used = "51%"
"#;

#[test]
fn paused_before_met_missed_and_pending_until_the_end() {
    let mut w = world(100_000, "running", PAUSED);
    assert_eq!(
        only(&w).description,
        "Pause the backfill before pg reaches 51%"
    );
    secs(&mut w, 20);
    assert_eq!(only(&w).state, ObjectiveState::Pending);
    w.apply(WorldControl::PauseBackfill).unwrap();
    let st = only(&w).state;
    assert!(is_met(&st), "{st:?}");
    assert!(format!("{st:?}").contains("backfill stopped with pg at 50."));

    let mut w = world(100_000, "running", PAUSED);
    secs(&mut w, 300);
    let st = only(&w).state;
    let (at, detail) = missed_at(&st).unwrap_or_else(|| panic!("{st:?}"));
    assert!((60_000..200_000).contains(&at), "{at}");
    assert!(
        detail.contains("pg reached 51.0% with the backfill running"),
        "{detail}"
    );

    let mut w = world(100_000, "running", PAUSED);
    secs(&mut w, 20);
    w.finish_objectives();
    let st = only(&w).state;
    assert!(missed_at(&st).is_some_and(|m| m.1.contains("drill ended with the backfill running")));
}

const RECOVERED: &str = r#"
[[objective]]
name = "rec"
kind = "recovered_within"
within = "1m"
when = ["backfill_stopped", "app_healthy"]
"#;

#[test]
fn recovered_within_met_missed_and_pending_until_the_end() {
    let mut w = world(1000, "running", RECOVERED);
    assert_eq!(
        only(&w).description,
        "Recover within 1m: backfill stopped, app healthy"
    );
    secs(&mut w, 10);
    assert_eq!(only(&w).state, ObjectiveState::Pending);
    w.apply(WorldControl::PauseBackfill).unwrap();
    assert_eq!(
        only(&w).state,
        ObjectiveState::Met {
            at_ms: 10_000,
            detail: "recovered after 10s".into()
        }
    );

    let mut w = world(1000, "running", RECOVERED);
    secs(&mut w, 90);
    let st = only(&w).state;
    assert_eq!(
        missed_at(&st),
        Some((60_000, "not recovered within 1m00s: m backfill running"))
    );

    let mut w = world(1000, "running", RECOVERED);
    secs(&mut w, 10);
    w.finish_objectives();
    assert!(missed_at(&only(&w).state).is_some_and(|m| m.1.contains("ended unrecovered")));
}

const NO_LOSS: &str = r#"
[[objective]]
name = "loss"
kind = "no_data_loss"
"#;

#[test]
fn dropping_filled_columns_without_a_snapshot_loses_data() {
    let mut w = world(10_000, "running", NO_LOSS);
    secs(&mut w, 20);
    w.apply(WorldControl::PauseBackfill).unwrap();
    assert!(w.state().migration.rows_done > 0);
    w.apply(WorldControl::DownMigrate).unwrap();
    let st = only(&w).state;
    let (at, detail) = missed_at(&st).unwrap_or_else(|| panic!("{st:?}"));
    assert_eq!(at, 20_000);
    assert!(detail.contains("filled rows no snapshot holds"), "{detail}");
}

#[test]
fn a_snapshot_before_the_drop_keeps_the_data_and_the_end_decides() {
    let mut w = world(10_000, "running", NO_LOSS);
    secs(&mut w, 20);
    w.apply(WorldControl::PauseBackfill).unwrap();
    w.apply(WorldControl::TakeSnapshot {
        volume: "pg".into(),
        name: None,
    })
    .unwrap();
    w.apply(WorldControl::DownMigrate).unwrap();
    secs(&mut w, 10);
    assert_eq!(only(&w).state, ObjectiveState::Pending);
    w.finish_objectives();
    assert!(is_met(&only(&w).state));
    assert!(only(&w).fin);
}

#[test]
fn rows_backfilled_after_the_snapshot_are_lost_on_the_drop() {
    let mut w = world(10_000, "running", NO_LOSS);
    secs(&mut w, 5);
    w.apply(WorldControl::TakeSnapshot {
        volume: "pg".into(),
        name: None,
    })
    .unwrap();
    secs(&mut w, 20);
    w.apply(WorldControl::DownMigrate).unwrap();
    assert!(missed_at(&only(&w).state).is_some());
}

const FILL: &str = r#"
[[fault]]
at = "10s"
kind = "disk_fill"
volume = "pg"
bytes = "60GiB"
"#;

#[test]
fn failed_writes_on_a_full_disk_lose_data() {
    let mut w = world(1000, "paused", &format!("{NO_LOSS}{FILL}"));
    secs(&mut w, 5);
    assert_eq!(only(&w).state, ObjectiveState::Pending);
    secs(&mut w, 10);
    let st = only(&w).state;
    assert!(
        missed_at(&st).is_some_and(|m| m.1 == "writes failing on db-0: its volume is full"),
        "{st:?}"
    );
}

fn never(condition: &str, extra: &str) -> World {
    world(
        1000,
        "running",
        &format!(
            "[[objective]]\nname = \"n\"\nkind = \"never\"\ncondition = \"{condition}\"\n{extra}"
        ),
    )
}

#[test]
fn never_disk_full_missed_when_it_fills_met_at_the_end_otherwise() {
    let mut w = never("disk_full", FILL);
    assert_eq!(only(&w).description, "Never let a volume fill up");
    secs(&mut w, 15);
    assert!(missed_at(&only(&w).state).is_some_and(|m| m.1.contains("volume pg is full")));

    let mut w = never("disk_full", "");
    secs(&mut w, 15);
    assert_eq!(only(&w).state, ObjectiveState::Pending);
    w.finish_objectives();
    assert!(is_met(&only(&w).state));
}

#[test]
fn never_schema_changed_and_dropped_column_in_use() {
    let mut w = never("schema_changed", "");
    w.apply(WorldControl::PauseBackfill).unwrap();
    w.apply(WorldControl::DownMigrate).unwrap();
    assert!(missed_at(&only(&w).state).is_some_and(|m| m.1 == "schema moved from 2 to 1"));

    // Every pod runs "new", which needs schema 2.
    let mut w = never("dropped_column_in_use", "");
    secs(&mut w, 5);
    w.apply(WorldControl::PauseBackfill).unwrap();
    w.apply(WorldControl::DownMigrate).unwrap();
    let st = only(&w).state;
    assert!(
        missed_at(&st).is_some_and(|m| m.1.contains("while new (needs 2) served on 4 pod(s)")),
        "{st:?}"
    );

    // Rolled back to "old" (works on 1 and 2) first: nothing reads the columns.
    let mut w = never("dropped_column_in_use", "");
    w.apply(WorldControl::PauseBackfill).unwrap();
    w.apply(WorldControl::SetAppRevision("old".into())).unwrap();
    secs(&mut w, 300);
    assert!(
        w.state()
            .app
            .pods
            .iter()
            .all(|p| p.revision == "old" && p.ready())
    );
    w.apply(WorldControl::DownMigrate).unwrap();
    assert_eq!(only(&w).state, ObjectiveState::Pending);
    w.finish_objectives();
    assert!(is_met(&only(&w).state));
}

#[test]
fn never_dropped_active_slot_only_for_a_streaming_replica() {
    let mut w = never("dropped_active_slot", "");
    secs(&mut w, 5);
    w.apply(WorldControl::DropSlot {
        name: "replica_1".into(),
    })
    .unwrap();
    let st = only(&w).state;
    assert!(
        missed_at(&st)
            .is_some_and(|m| m.1 == "dropped slot replica_1 while replica-1 streamed through it"),
        "{st:?}"
    );
    // A refused drop decides nothing.
    let mut w = never("dropped_active_slot", "");
    assert!(
        w.apply(WorldControl::DropSlot {
            name: "nope".into()
        })
        .is_err()
    );
    assert_eq!(only(&w).state, ObjectiveState::Pending);
}

#[test]
fn finish_is_final_and_idempotent() {
    let mut w = world(1000, "running", &format!("{FIRST}{RECOVERED}"));
    secs(&mut w, 5);
    w.finish_objectives();
    let end = w.objectives();
    assert!(end.iter().all(|o| o.fin));
    assert_eq!(end[0].name, "first");
    assert_eq!(end[1].name, "rec");
    secs(&mut w, 120);
    w.apply(WorldControl::PauseBackfill).unwrap();
    w.finish_objectives();
    assert_eq!(w.objectives(), end);
}

#[test]
fn a_world_without_objectives_scores_nothing() {
    let mut w = world(1000, "running", "");
    assert!(!w.has_objectives());
    secs(&mut w, 5);
    w.finish_objectives();
    assert!(w.objectives().is_empty());
}
