//! Kubernetes steps on the drill world, with world time passing while they wait: the
//! rollback's partition walk, the stuck-pod ask, stopping, scale, patch, snapshot, resume.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::*;
use crate::engine::{AskCell, Progress};
use crate::sim::effects::MemEffects;
use crate::sim::effects::rebuild_world;
use crate::sim::world::{Scenario, SharedWorld, World, WorldEvent};

const SEED: u64 = 7;
const OLD: &str = "orders-app-5c41";
const NEW: &str = "orders-app-7d9f";
const KEY: &str = "r-1/rollback-app";

/// A built-in scenario, with `stuck` pods, and its world.
fn world(name: &str, stuck: &[u32]) -> (Scenario, SharedWorld) {
    let mut sc = Scenario::builtin(name).unwrap().unwrap();
    sc.app.stuck_pods = stuck.to_vec();
    let w = World::new(&sc, SEED);
    (sc, Arc::new(Mutex::new(w)))
}

fn sim(world: &SharedWorld) -> SimWorld<MemEffects> {
    SimWorld::new(world.clone(), MemEffects::default(), Progress::default())
}

/// What the console holds for the step in flight.
struct Console {
    stop: watch::Sender<bool>,
    stop_rx: watch::Receiver<bool>,
    answer: mpsc::Sender<(usize, String)>,
    answers: mpsc::Receiver<(usize, String)>,
    asking: AskCell,
    progress: Progress,
}

impl Console {
    fn new() -> Console {
        let (stop, stop_rx) = watch::channel(false);
        let (answer, answers) = mpsc::channel(8);
        Console {
            stop,
            stop_rx,
            answer,
            answers,
            asking: AskCell::default(),
            progress: Progress::default(),
        }
    }

    fn guide<'a>(&'a mut self, key: &'a str) -> Guide<'a> {
        Guide {
            step: 2,
            key,
            stop: &mut self.stop_rx,
            answers: &mut self.answers,
            asking: &self.asking,
            progress: &self.progress,
            pod_timeout: Duration::from_secs(600),
        }
    }
}

/// Runs `f` while world time passes: a second of it every 100 ms of (paused) tokio time.
/// A step (or responder) that never ends fails the test after two hours of world time.
async fn with_time<T>(world: &SharedWorld, f: impl Future<Output = T>) -> T {
    let tick = async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut w = world.lock().unwrap();
            w.step(Duration::from_secs(1));
            assert!(w.elapsed() < Duration::from_secs(7200), "never ended");
        }
    };
    tokio::select! {
        r = f => r,
        () = tick => unreachable!(),
    }
}

async fn until(mut done: impl FnMut() -> bool) {
    while !done() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn events(world: &SharedWorld) -> Vec<WorldEvent> {
    world.lock().unwrap().drain_events()
}

fn position(events: &[WorldEvent], text: &str) -> usize {
    events
        .iter()
        .position(|e| e.text == text)
        .unwrap_or_else(|| panic!("no event {text:?} in {events:#?}"))
}

fn notes(asking: &AskCell) -> Vec<String> {
    asking.lock().unwrap().notes.clone()
}

#[tokio::test(start_paused = true)]
async fn rollback_walks_the_partition_down_one_ordinal_at_a_time() {
    let (_, world) = world("backfill-slot-fill", &[]);
    let mut sim = sim(&world);
    let mut console = Console::new();
    let asking = console.asking.clone();
    let mut g = console.guide(KEY);
    let ended = with_time(
        &world,
        sim.statefulset_rollback("orders-app", &Revision::Previous, &mut g),
    )
    .await;
    assert_eq!(ended, Ok(Ended::Complete));

    let app = world.lock().unwrap().state().app.clone();
    assert_eq!(app.partition, 0);
    assert_eq!(app.update_revision, OLD);
    assert!(app.pods.iter().all(|p| p.ready() && p.revision == OLD));
    // Each ordinal is released only once the one above it runs the old revision.
    let ev = events(&world);
    let mut last = position(&ev, "orders-app update revision set to orders-app-5c41");
    assert!(last < position(&ev, "orders-app partition set to 4"));
    for o in (0..4).rev() {
        let released = position(&ev, &format!("orders-app partition set to {o}"));
        let replaced = position(&ev, &format!("orders-app-{o}: replaced with {OLD}"));
        assert!(
            last < released && released < replaced,
            "ordinal {o}: {ev:#?}"
        );
        last = replaced;
    }
    assert_eq!(
        notes(&asking),
        [format!(
            "statefulset/orders-app: template set to revision {OLD} (from {NEW}), partition 4"
        )]
    );
    let keys: Vec<&str> = sim
        .effects()
        .effects
        .iter()
        .map(|e| e.key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "r-1/rollback-app/template",
            "r-1/rollback-app/partition-3",
            "r-1/rollback-app/partition-2",
            "r-1/rollback-app/partition-1",
            "r-1/rollback-app/partition-0",
            KEY,
        ]
    );
    let kind = StepKind::StatefulsetRollback {
        statefulset: "orders-app".into(),
        to_revision: Revision::Previous,
    };
    assert_eq!(sim.probe_kube(&kind, KEY).await, Probe::Happened);
    assert_eq!(sim.probe_kube(&kind, "r-1/other").await, Probe::NotHappened);
}

#[tokio::test(start_paused = true)]
async fn a_stuck_pod_is_deleted_only_when_its_name_is_typed() {
    let (scenario, world) = world("crashloop-new-revision", &[3]);
    // A minute in, the new revision crashes on pods 2 and 3.
    world.lock().unwrap().step(Duration::from_secs(90));
    let mut sim = sim(&world);
    let mut console = Console::new();
    let (answer, asking) = (console.answer.clone(), console.asking.clone());
    let mut g = console.guide(KEY);
    let responder = async {
        until(|| asking.lock().unwrap().ask.is_some()).await;
        let ask = asking.lock().unwrap().ask.clone().unwrap();
        answer.send((2, "orders-app-2".into())).await.unwrap();
        until(|| notes(&asking).iter().any(|n| n.starts_with("not deleting"))).await;
        let after_wrong_word = world.lock().unwrap().state().app.pods[3].clone();
        answer.send((2, " orders-app-3 ".into())).await.unwrap();
        (ask, after_wrong_word)
    };
    let to = Revision::Named("5c41".into());
    let (ended, (ask, after_wrong_word)) = with_time(&world, async {
        tokio::join!(
            sim.statefulset_rollback("orders-app", &to, &mut g),
            responder
        )
    })
    .await;

    assert_eq!(ask.step, 2);
    assert_eq!(ask.word, "orders-app-3");
    assert!(
        ask.what.starts_with(
            "delete pod orders-app-3 stuck on revision orders-app-7d9f (CrashLoopBackOff, "
        ),
        "{}",
        ask.what
    );
    assert!(after_wrong_word.stuck && after_wrong_word.revision == NEW);
    assert_eq!(ended, Ok(Ended::Complete));
    let notes = notes(&asking);
    assert!(
        notes.contains(
            &"not deleting pod orders-app-3: the confirmation typed \"orders-app-2\", not its name"
                .to_string()
        )
    );
    assert!(
        notes.iter().any(|n| n.starts_with(
            "deleted pod orders-app-3 stuck on revision orders-app-7d9f (CrashLoopBackOff"
        ) && n.ends_with(
            "confirmed by typing its name; the controller recreates it on orders-app-5c41"
        )),
        "{notes:#?}"
    );
    assert_eq!(asking.lock().unwrap().ask, None);
    let app = world.lock().unwrap().state().app.clone();
    assert!(
        app.pods
            .iter()
            .all(|p| p.ready() && p.revision == OLD && !p.stuck)
    );
    let deletes: Vec<_> = sim
        .effects()
        .effects
        .iter()
        .filter(|e| e.controls.contains(&WorldControl::DeletePod { ordinal: 3 }))
        .map(|e| e.key.as_str())
        .collect();
    assert_eq!(deletes, ["r-1/rollback-app/delete-3"]);

    // Resuming rebuilds the same world from the recorded effects.
    let live = world.lock().unwrap().clone();
    let mut rebuilt = rebuild_world(&scenario, SEED, &sim.effects().effects);
    rebuilt.step(live.elapsed() - rebuilt.elapsed());
    assert_eq!(rebuilt.state(), live.state());
    assert_eq!(rebuilt.state_digest(), live.state_digest());
}

#[tokio::test(start_paused = true)]
async fn a_stop_mid_rollout_says_what_landed_and_a_second_apply_finishes() {
    let (_, world) = world("backfill-slot-fill", &[]);
    let mut sim = sim(&world);
    let mut console = Console::new();
    let stop = console.stop.clone();
    let mut g = console.guide(KEY);
    let stopper = async {
        until(|| world.lock().unwrap().state().app.partition == 2).await;
        stop.send_replace(true);
    };
    let (ended, ()) = with_time(&world, async {
        tokio::join!(
            sim.statefulset_rollback("orders-app", &Revision::Previous, &mut g),
            stopper
        )
    })
    .await;
    assert_eq!(
        ended,
        Ok(Ended::Interrupted {
            at: "ordinal 2".into(),
            landed: Some(format!("template at {OLD}, 2 of 4 ordinals released")),
        })
    );
    let kind = StepKind::StatefulsetRollback {
        statefulset: "orders-app".into(),
        to_revision: Revision::Previous,
    };
    assert_eq!(
        sim.probe_kube(&kind, KEY).await,
        Probe::Resumable("ordinal 2".into())
    );

    // Going on with the same key continues from partition 2, template untouched.
    console.stop.send_replace(false);
    let mut g = console.guide(KEY);
    let ended = with_time(
        &world,
        sim.statefulset_rollback("orders-app", &Revision::Previous, &mut g),
    )
    .await;
    assert_eq!(ended, Ok(Ended::Complete));
    let templates = sim
        .effects()
        .effects
        .iter()
        .filter(|e| e.key.ends_with("/template"))
        .count();
    assert_eq!(templates, 1);
    let app = world.lock().unwrap().state().app.clone();
    assert!(app.pods.iter().all(|p| p.ready() && p.revision == OLD));
}

#[tokio::test(start_paused = true)]
async fn a_rollback_of_another_statefulset_or_revision_fails_like_the_api() {
    let (_, world) = world("backfill-slot-fill", &[]);
    let mut sim = sim(&world);
    let mut console = Console::new();
    let mut g = console.guide(KEY);
    let err = sim
        .statefulset_rollback("orders-db", &Revision::Previous, &mut g)
        .await
        .unwrap_err();
    assert_eq!(
        err.error,
        "statefulset/orders-db: get statefulsets/orders-db not found"
    );
    assert_eq!(err.landed, None);
    let err = sim
        .statefulset_rollback("orders-app", &Revision::Named("zz".into()), &mut g)
        .await
        .unwrap_err();
    assert_eq!(
        err.error,
        "statefulset/orders-app: no ControllerRevision zz (known: orders-app-5c41, orders-app-7d9f)"
    );
    assert!(sim.effects().effects.is_empty());
}

#[tokio::test]
async fn scale_sets_the_app_replicas_and_other_objects_are_not_found() {
    let (_, world) = world("backfill-slot-fill", &[]);
    let mut sim = sim(&world);
    let kind = StepKind::Scale {
        object: "statefulset/orders-app".into(),
        replicas: 2,
    };
    assert_eq!(sim.probe_kube(&kind, "r/scale").await, Probe::NotHappened);
    let ended = sim.scale("sts/orders-app", 2, "r/scale").await;
    assert_eq!(ended, Ok(Ended::Complete));
    assert_eq!(world.lock().unwrap().state().app.pods.len(), 2);
    assert_eq!(sim.probe_kube(&kind, "r/scale").await, Probe::Happened);

    sim.scale("statefulset/orders-app", 5, "r/up")
        .await
        .unwrap();
    let app = world.lock().unwrap().state().app.clone();
    let ordinals: Vec<u32> = app.pods.iter().map(|p| p.ordinal).collect();
    assert_eq!(ordinals, [0, 1, 2, 3, 4]);
    assert!(app.pods[4].revision == NEW && !app.pods[4].ready());
    let ev = events(&world);
    position(&ev, "orders-app scaled from 4 to 2 replicas");
    position(&ev, "orders-app scaled from 2 to 5 replicas");

    let err = sim
        .scale("deployment/orders-worker", 0, "r/worker")
        .await
        .unwrap_err();
    assert_eq!(
        err.error,
        "deployment/orders-worker: patch deployments/orders-worker/scale not found"
    );
    assert_eq!(sim.effects().effects.len(), 2);
}

#[tokio::test]
async fn patch_acts_on_modelled_fields_and_auto_undo_restores_them() {
    let (_, world) = world("backfill-slot-fill", &[]);
    let mut sim = sim(&world);
    let patch = json!({
        "metadata": { "labels": { "paused-by": "ebb" } },
        "spec": { "updateStrategy": { "rollingUpdate": { "partition": 3 } } },
    });
    let ended = sim
        .patch("statefulset/orders-app", &patch, 4, "r/pin")
        .await;
    assert_eq!(ended, Ok(Ended::Complete));
    assert_eq!(world.lock().unwrap().state().app.partition, 3);
    let image = json!({
        "metadata": { "labels": null },
        "spec": { "updateStrategy": { "rollingUpdate": { "partition": 0 } } },
    });
    assert_eq!(sim.effects().pre_images, [(4, "r/pin".to_string(), image)]);
    let ev = events(&world);
    position(&ev, "orders-app partition set to 3");
    position(
        &ev,
        "statefulset/orders-app patched (metadata.labels.paused-by): not modelled in the drill world",
    );

    sim.undo_patch("statefulset/orders-app", "r/pin", "r/pin/undo")
        .await
        .unwrap();
    assert_eq!(world.lock().unwrap().state().app.partition, 0);
    let kind = StepKind::Patch {
        object: "statefulset/orders-app".into(),
        patch,
    };
    assert_eq!(sim.probe_kube(&kind, "r/pin/undo").await, Probe::Happened);

    // A resumed run restores the pre-image from its journal.
    let mut fresh = super::super::actuators::SimWorld::new(
        world.clone(),
        MemEffects::default(),
        Progress::default(),
    );
    let err = fresh
        .undo_patch("statefulset/orders-app", "r/pin", "r/pin/undo")
        .await
        .unwrap_err();
    assert!(
        err.error.contains("no pre-image was journaled for r/pin"),
        "{err}"
    );
    fresh.restore_pre_image("r/pin", json!({ "spec": { "replicas": 3 } }));
    fresh
        .undo_patch("statefulset/orders-app", "r/pin", "r/pin/undo")
        .await
        .unwrap();
    assert_eq!(world.lock().unwrap().state().app.pods.len(), 3);

    let err = sim
        .patch("horizontalpodautoscaler/orders-app", &json!({}), 5, "r/hpa")
        .await
        .unwrap_err();
    assert_eq!(
        err.error,
        "horizontalpodautoscaler/orders-app: get horizontalpodautoscalers/orders-app not found"
    );
}

#[tokio::test(start_paused = true)]
async fn snapshot_waits_for_ready_and_names_it_as_on_a_cluster() {
    let (_, world) = world("backfill-slot-fill", &[]);
    let mut sim = sim(&world);
    let mut console = Console::new();
    let asking = console.asking.clone();
    let key = "r-1/snapshot-data";
    let name = snapshot_name(key);
    let stop = console.stop.clone();
    let mut g = console.guide(key);
    // Stopped while the copy runs: the snapshot exists, the step says so.
    let stopper = async {
        until(|| !world.lock().unwrap().state().snapshots.is_empty()).await;
        stop.send_replace(true);
    };
    let (ended, ()) = with_time(&world, async {
        tokio::join!(sim.snapshot("pgdata-orders-db-0", &mut g), stopper)
    })
    .await;
    assert_eq!(
        ended,
        Ok(Ended::Interrupted {
            at: format!("waiting for volumesnapshot/{name} to be ready"),
            landed: Some(format!("volumesnapshot/{name} created")),
        })
    );
    let kind = StepKind::Snapshot {
        volume: "pgdata-orders-db-0".into(),
    };
    assert_eq!(
        sim.probe_kube(&kind, key).await,
        Probe::Resumable("waiting for readyToUse".into())
    );
    console.stop.send_replace(false);
    let mut g = console.guide(key);
    let ended = with_time(&world, sim.snapshot("pgdata-orders-db-0", &mut g)).await;
    assert_eq!(ended, Ok(Ended::Complete));
    let snaps = world.lock().unwrap().state().snapshots.clone();
    let ours: Vec<_> = snaps.iter().filter(|s| s.name == name).collect();
    assert_eq!(ours.len(), 1, "taken once: {snaps:#?}");
    assert_eq!(ours[0].state, SnapshotState::Ready);
    assert_eq!(
        notes(&asking),
        [format!(
            "created volumesnapshot/{name} of pvc/pgdata-orders-db-0"
        )]
    );
    assert_eq!(sim.probe_kube(&kind, key).await, Probe::Happened);

    let mut g = console.guide("r-1/other");
    let err = sim.snapshot("data-orders-db-0", &mut g).await.unwrap_err();
    let other = snapshot_name("r-1/other");
    assert_eq!(
        err.error,
        format!(
            "volumesnapshot/{other} of pvc/data-orders-db-0: persistentvolumeclaim data-orders-db-0 not found"
        )
    );
    assert_eq!(err.landed, None);
}
