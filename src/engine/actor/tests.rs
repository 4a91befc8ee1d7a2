//! The actor with a recording actuator and an in-memory journal.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::*;
use crate::engine::journal::{MemJournal, replay};
use crate::engine::state::{Final, OnFailure, StepInfo};

#[derive(Clone, Default)]
struct Fake {
    effects: Arc<Mutex<Vec<String>>>,
    /// Failures to return per step before succeeding.
    fail: Arc<Mutex<Vec<u32>>>,
    gates: Arc<Mutex<VecDeque<CheckOutcome>>>,
    slow: Option<Duration>,
    /// Step 0 runs this many batches of 100 ms each, stopping at a boundary when asked.
    batches: Option<(u32, tokio::sync::watch::Receiver<bool>)>,
    /// Step 0 raises an ask, then leaves a note and withdraws it after 1.5 s.
    asking: Option<crate::engine::AskCell>,
    /// Step 0's batches fail at this one.
    fail_at_batch: Option<u32>,
    /// Postcheck outcomes to return in order (then `Pass`), and how many were asked.
    postchecks: Arc<Mutex<VecDeque<CheckOutcome>>>,
}

impl Fake {
    /// Runs the batches of `key` not yet done; `Interrupted` at a boundary on a stop.
    async fn batched(&mut self, key: &str) -> Result<Ended, Failure> {
        let Some((n, stop)) = self.batches.clone() else {
            return Ok(Ended::Complete);
        };
        for b in 0..n {
            let k = format!("{key}/batch/{b}");
            if self.effects.lock().unwrap().contains(&k) {
                continue;
            }
            if *stop.borrow() {
                let landed = (b > 0).then(|| format!("{b} batches applied"));
                return Ok(Ended::stopped_after(format!("batch {b}"), landed));
            }
            if self.fail_at_batch == Some(b) {
                return Err(Failure::after(
                    (b > 0).then(|| format!("{b} batches applied")),
                    "batch failed",
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.effects.lock().unwrap().push(k);
        }
        Ok(Ended::Complete)
    }
}

impl Actuators for Fake {
    async fn gates(&mut self, _step: usize) -> CheckOutcome {
        self.gates
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(CheckOutcome::Pass)
    }
    async fn apply(&mut self, step: usize, key: &str) -> Result<Ended, Failure> {
        if step == 0 && self.batches.is_some() {
            let r = self.batched(key).await;
            if r == Ok(Ended::Complete) {
                self.effects.lock().unwrap().push(key.to_string());
            }
            return r;
        }
        if let (0, Some(cell)) = (step, &self.asking) {
            cell.lock().unwrap().ask = Some(crate::engine::Ask {
                step,
                what: "delete pod db-2".into(),
                word: "db-2".into(),
            });
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let mut a = cell.lock().unwrap();
            a.ask = None;
            a.notes.push("deleted pod db-2".into());
        }
        if let Some(d) = self.slow {
            tokio::time::sleep(d).await;
        }
        {
            let mut f = self.fail.lock().unwrap();
            if f.get(step).copied().unwrap_or(0) > 0 {
                f[step] -= 1;
                return Err(Failure::from("boom"));
            }
        }
        self.effects.lock().unwrap().push(key.to_string());
        Ok(Ended::Complete)
    }
    async fn postcheck(&mut self, _step: usize) -> CheckOutcome {
        self.postchecks
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(CheckOutcome::Pass)
    }
    async fn undo(&mut self, _step: usize, key: &str) -> Result<Ended, Failure> {
        self.effects.lock().unwrap().push(key.to_string());
        Ok(Ended::Complete)
    }
    async fn probe(&mut self, _step: usize, key: &str, _undo: bool) -> Probe {
        if self.effects.lock().unwrap().iter().any(|k| k == key) {
            Probe::Happened
        } else {
            Probe::NotHappened
        }
    }
}

fn plan(n: usize) -> RunState {
    RunState::new(
        (0..n)
            .map(|i| StepInfo {
                id: format!("s{i}"),
                has_undo: true,
                on_failure: OnFailure::Pause,
            })
            .collect(),
    )
}

struct Harness {
    cmds: mpsc::Sender<Command>,
    events: mpsc::Receiver<EngineEvent>,
    task: tokio::task::JoinHandle<(RunState, MemJournal)>,
}

fn start(
    state: RunState,
    fake: Fake,
    journal: MemJournal,
    policies: Vec<ExecPolicy>,
    exit_on_finish: bool,
) -> Harness {
    start_with(state, fake, journal, policies, exit_on_finish, None)
}

fn start_with(
    state: RunState,
    fake: Fake,
    journal: MemJournal,
    policies: Vec<ExecPolicy>,
    exit_on_finish: bool,
    stop: Option<StopSignal>,
) -> Harness {
    let (ctx, crx) = mpsc::channel(16);
    let (etx, erx) = mpsc::channel(1024);
    let mut actor = Actor::new(
        "r1".into(),
        state,
        policies,
        fake,
        journal,
        crx,
        etx,
        exit_on_finish,
    );
    if let Some(stop) = stop {
        actor = actor.with_stop_signal(stop);
    }
    Harness {
        cmds: ctx,
        events: erx,
        task: tokio::spawn(actor.run()),
    }
}

async fn verb(h: &Harness, verb: Verb) {
    h.cmds
        .send(Command::Verb {
            verb,
            by: "alice".into(),
        })
        .await
        .unwrap();
}

/// Waits until a view satisfies `f`.
async fn until(h: &mut Harness, f: impl Fn(&RunView) -> bool) -> RunView {
    loop {
        match h.events.recv().await {
            Some(EngineEvent::View(v)) if f(&v) => return v,
            Some(_) => {}
            None => panic!("actor ended first"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn runs_every_step_once_in_order() {
    let fake = Fake::default();
    let h = start(plan(3), fake.clone(), MemJournal::default(), vec![], true);
    verb(&h, Verb::Run).await;
    let (state, journal) = h.task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::Completed));
    assert_eq!(
        *fake.effects.lock().unwrap(),
        vec!["r1/s0", "r1/s1", "r1/s2"]
    );
    let kinds: Vec<&str> = journal.records.iter().map(|r| r.kind()).collect();
    assert_eq!(
        kinds,
        vec![
            "verb",
            "step.intent",
            "step.applied",
            "step.intent",
            "step.applied",
            "step.intent",
            "step.applied"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn pause_in_flight_holds_after_the_step_then_resumes() {
    let fake = Fake {
        slow: Some(Duration::from_secs(5)),
        ..Fake::default()
    };
    let mut h = start(plan(3), fake.clone(), MemJournal::default(), vec![], true);
    verb(&h, Verb::Run).await;
    until(&mut h, |v| {
        matches!(v.steps[0].status, StepStatus::Running { .. })
    })
    .await;
    h.cmds
        .send(Command::Verb {
            verb: Verb::Pause,
            by: "bob".into(),
        })
        .await
        .unwrap();
    until(&mut h, |v| v.status == Status::Pausing).await;
    let v = until(&mut h, |v| v.status == Status::Paused).await;
    assert_eq!(v.pause.as_ref().unwrap().by, "bob");
    assert_eq!(
        fake.effects.lock().unwrap().len(),
        1,
        "only the in-flight step finished"
    );
    verb(&h, Verb::Run).await;
    let (state, _) = h.task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::Completed));
    assert_eq!(fake.effects.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn retries_with_backoff_then_fails_and_pauses() {
    let fake = Fake {
        fail: Arc::new(Mutex::new(vec![0, 5])),
        ..Fake::default()
    };
    let policy = ExecPolicy {
        timeout: None,
        retries: 2,
        backoff: Duration::from_secs(1),
    };
    let mut h = start(
        plan(2),
        fake.clone(),
        MemJournal::default(),
        vec![policy.clone(), policy],
        true,
    );
    verb(&h, Verb::Run).await;
    let v = until(&mut h, |v| v.status == Status::Paused).await;
    assert!(v.pause.unwrap().text.contains("s1 failed: boom"));
    assert!(matches!(
        v.steps[1].status,
        StepStatus::Failed { attempts: 3, .. }
    ));
    // Skip with a reason, then resume: done without s1's effect.
    verb(
        &h,
        Verb::Skip {
            reason: "flag already off".into(),
        },
    )
    .await;
    verb(&h, Verb::Run).await;
    let (state, journal) = h.task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::Completed));
    let attempts = journal
        .records
        .iter()
        .filter(|r| matches!(r, Record::Intent { step: 1, .. }))
        .count();
    assert_eq!(attempts, 3);
}

#[tokio::test(start_paused = true)]
async fn a_failing_gate_holds_by_itself_and_inconclusive_pauses() {
    let fake = Fake::default();
    fake.gates.lock().unwrap().extend([
        CheckOutcome::Fail("replica-1 lag 12s > 5s".into()),
        CheckOutcome::Fail("replica-1 lag 12s > 5s".into()),
        CheckOutcome::Pass,
        CheckOutcome::Inconclusive("source sim:db down".into()),
    ]);
    let mut h = start(plan(2), fake.clone(), MemJournal::default(), vec![], true);
    verb(&h, Verb::Run).await;
    let v = until(&mut h, |v| v.held.is_some()).await;
    assert_eq!(v.held.as_deref(), Some("replica-1 lag 12s > 5s"));
    assert_eq!(v.status, Status::Running);
    let v = until(&mut h, |v| v.status == Status::Paused).await;
    assert!(
        v.pause
            .unwrap()
            .text
            .contains("inconclusive: source sim:db down")
    );
    assert_eq!(fake.effects.lock().unwrap().len(), 1);
    verb(&h, Verb::Run).await;
    let (state, _) = h.task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::Completed));
}

#[tokio::test(start_paused = true)]
async fn journal_down_applies_nothing() {
    let fake = Fake::default();
    let journal = MemJournal {
        fail_from: Some(1),
        ..MemJournal::default()
    };
    let mut h = start(plan(2), fake.clone(), journal, vec![], false);
    verb(&h, Verb::Run).await;
    let v = until(&mut h, |v| v.status == Status::Paused).await;
    assert!(v.pause.unwrap().text.contains("journal unavailable"));
    assert!(fake.effects.lock().unwrap().is_empty());
    // Run control is refused while the journal is down.
    verb(&h, Verb::Run).await;
    loop {
        match h.events.recv().await {
            Some(EngineEvent::Refused { reason, .. }) => {
                assert!(reason.contains("fail closed"));
                break;
            }
            Some(_) => {}
            None => panic!("ended"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_crash_between_intent_and_outcome_is_probed_not_rerun() {
    // First life: s0 applied, s1's effect happened but its outcome was never journaled.
    let fake = Fake::default();
    fake.effects
        .lock()
        .unwrap()
        .extend(["r1/s0".to_string(), "r1/s1".to_string()]);
    let records = vec![
        Record::Verb {
            verb: Verb::Run,
            by: "alice".into(),
        },
        Record::Intent {
            step: 0,
            attempt: 1,
            key: "r1/s0".into(),
        },
        Record::Applied { step: 0 },
        Record::Intent {
            step: 1,
            attempt: 1,
            key: "r1/s1".into(),
        },
    ];
    let replayed = replay(plan(3), &records).unwrap();
    let (step, undo, key) = replayed.in_doubt.clone().unwrap();
    assert_eq!(
        replayed.state.status_of[1],
        StepStatus::InDoubt { undo: false }
    );
    let journal = MemJournal {
        records,
        fail_from: None,
    };
    let (ctx, crx) = mpsc::channel(16);
    let (etx, _erx) = mpsc::channel(1024);
    let mut actor = Actor::new(
        "r1".into(),
        replayed.state,
        vec![],
        fake.clone(),
        journal,
        crx,
        etx,
        true,
    );
    actor.resolve_in_doubt(step, undo, &key).await;
    let task = tokio::spawn(actor.run());
    ctx.send(Command::Verb {
        verb: Verb::Run,
        by: "alice".into(),
    })
    .await
    .unwrap();
    let (state, journal) = task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::Completed));
    assert_eq!(
        *fake.effects.lock().unwrap(),
        vec!["r1/s0", "r1/s1", "r1/s2"],
        "s1 not applied twice"
    );
    assert!(journal.records.iter().any(|r| matches!(
        r,
        Record::Resolved {
            step: 1,
            happened: true,
            ..
        }
    )));
    // Replaying the whole journal gives the same state.
    let again = replay(plan(3), &journal.records).unwrap();
    assert_eq!(again.state.status, Status::Finished(Final::Completed));
    assert!(again.in_doubt.is_none());
}

#[tokio::test(start_paused = true)]
async fn rollback_undoes_in_reverse_and_is_pausable() {
    let fake = Fake::default();
    let mut h = start(plan(3), fake.clone(), MemJournal::default(), vec![], false);
    verb(&h, Verb::Run).await;
    until(&mut h, |v| v.status == Status::Finished(Final::Completed)).await;
    verb(
        &h,
        Verb::Rollback {
            reason: "error rate".into(),
        },
    )
    .await;
    until(&mut h, |v| v.status == Status::Finished(Final::RolledBack)).await;
    assert_eq!(
        *fake.effects.lock().unwrap(),
        vec![
            "r1/s0",
            "r1/s1",
            "r1/s2",
            "r1/s2/undo",
            "r1/s1/undo",
            "r1/s0/undo"
        ]
    );
    drop(h.cmds);
    let (_, journal) = h.task.await.unwrap();
    let again = replay(plan(3), &journal.records).unwrap();
    assert_eq!(again.state.status, Status::Finished(Final::RolledBack));
}

#[tokio::test(start_paused = true)]
async fn timeouts_fail_the_step() {
    let fake = Fake {
        slow: Some(Duration::from_secs(60)),
        ..Fake::default()
    };
    let policy = ExecPolicy {
        timeout: Some(Duration::from_secs(2)),
        retries: 0,
        backoff: Duration::from_secs(1),
    };
    let mut h = start(plan(1), fake, MemJournal::default(), vec![policy], true);
    verb(&h, Verb::Run).await;
    let v = until(&mut h, |v| v.status == Status::Paused).await;
    assert!(
        v.pause.unwrap().text.contains("timed out after 2.0s"),
        "reason names the timeout"
    );
}

#[tokio::test(start_paused = true)]
async fn a_step_found_not_to_have_happened_runs_again_under_a_new_attempt() {
    let fake = Fake::default();
    let records = vec![
        Record::Verb {
            verb: Verb::Run,
            by: "alice".into(),
        },
        Record::Intent {
            step: 0,
            attempt: 1,
            key: "r1/s0".into(),
        },
    ];
    let replayed = replay(plan(1), &records).unwrap();
    let (step, undo, key) = replayed.in_doubt.clone().unwrap();
    let journal = MemJournal {
        records,
        fail_from: None,
    };
    let (ctx, crx) = mpsc::channel(16);
    let (etx, _erx) = mpsc::channel(1024);
    let mut actor = Actor::new(
        "r1".into(),
        replayed.state,
        vec![],
        fake.clone(),
        journal,
        crx,
        etx,
        true,
    );
    actor.resolve_in_doubt(step, undo, &key).await;
    let task = tokio::spawn(actor.run());
    ctx.send(Command::Verb {
        verb: Verb::Run,
        by: "alice".into(),
    })
    .await
    .unwrap();
    let (state, journal) = task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::Completed));
    let keys: Vec<String> = journal.records.iter().filter_map(|r| r.key()).collect();
    assert_eq!(
        keys,
        vec!["r1/s0#1", "r1/s0#2"],
        "the retry has its own idempotency key"
    );
    assert_eq!(*fake.effects.lock().unwrap(), vec!["r1/s0"]);
}

/// A fake whose step 0 runs 20 batches, and the stop signal the actor raises.
fn batched() -> (Fake, StopSignal) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let fake = Fake {
        batches: Some((20, rx)),
        ..Fake::default()
    };
    (fake, tx)
}

/// A two-step run whose batched step 0 is in flight.
async fn running_batches() -> (Fake, Harness) {
    let (fake, stop) = batched();
    let mut h = start_with(
        plan(2),
        fake.clone(),
        MemJournal::default(),
        vec![],
        true,
        Some(stop),
    );
    verb(&h, Verb::Run).await;
    until(&mut h, |v| {
        matches!(v.steps[0].status, StepStatus::Running { .. })
    })
    .await;
    (fake, h)
}

fn batch_keys(fake: &Fake) -> Vec<String> {
    fake.effects
        .lock()
        .unwrap()
        .iter()
        .filter(|k| k.contains("/batch/"))
        .cloned()
        .collect()
}

#[tokio::test(start_paused = true)]
async fn pause_stops_a_batched_step_at_a_boundary_and_run_continues_it() {
    let (fake, mut h) = running_batches().await;
    tokio::time::sleep(Duration::from_millis(550)).await;
    verb(&h, Verb::Pause).await;
    let v = until(&mut h, |v| v.status == Status::Paused).await;
    // Stopped inside the step: partial, with only some batches done.
    let done = batch_keys(&fake).len();
    assert_eq!(
        v.steps[0].status,
        StepStatus::Partial {
            done: format!("{done} batches applied")
        }
    );
    assert!((4..=7).contains(&done), "{done} batches before the pause");
    verb(&h, Verb::Run).await;
    let (state, journal) = h.task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::Completed));
    let keys = batch_keys(&fake);
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((keys.len(), unique.len()), (20, 20), "each batch once");
    let kinds: Vec<&str> = journal.records.iter().map(|r| r.kind()).collect();
    assert!(kinds.contains(&"step.interrupted"), "{kinds:?}");
    // Replaying the journal gives the same state (a resume after this run).
    let replayed = replay(plan(2), &journal.records).unwrap();
    assert_eq!(replayed.state.status, Status::Finished(Final::Completed));
    assert_eq!(replayed.in_doubt, None);
}

#[tokio::test(start_paused = true)]
async fn rollback_mid_batches_stops_them_and_undoes_what_was_done() {
    let (fake, h) = running_batches().await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    verb(
        &h,
        Verb::Rollback {
            reason: "lag".into(),
        },
    )
    .await;
    let (state, journal) = h.task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::RolledBack));
    assert!(batch_keys(&fake).len() < 20, "the batches stopped early");
    let effects = fake.effects.lock().unwrap().clone();
    assert!(effects.contains(&"r1/s0/undo".to_string()), "{effects:?}");
    assert!(
        !effects.iter().any(|k| k.starts_with("r1/s1")),
        "{effects:?}"
    );
    let replayed = replay(plan(2), &journal.records).unwrap();
    assert_eq!(replayed.state.status, Status::Finished(Final::RolledBack));
}

#[tokio::test(start_paused = true)]
async fn abort_mid_batches_stops_them_without_undo() {
    let (fake, h) = running_batches().await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    verb(
        &h,
        Verb::Abort {
            reason: "wrong plan".into(),
        },
    )
    .await;
    let (state, _) = h.task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::Aborted));
    let n = batch_keys(&fake).len();
    assert!((1..20).contains(&n), "{n}");
    assert!(
        !fake
            .effects
            .lock()
            .unwrap()
            .iter()
            .any(|k| k.ends_with("/undo"))
    );
}

#[test]
fn where_a_step_stopped_survives_in_the_journal_until_it_finishes() {
    use crate::engine::journal::stopped_at;
    let mut records = vec![
        Record::Intent {
            step: 0,
            attempt: 1,
            key: "r1/s0".into(),
        },
        Record::Interrupted {
            step: 0,
            undo: false,
            at: "batch 7".into(),
            landed: None,
        },
    ];
    assert_eq!(stopped_at(2, &records), vec![Some("batch 7".into()), None]);
    records.push(Record::Applied { step: 0 });
    assert_eq!(stopped_at(2, &records), vec![None, None]);
}

#[tokio::test]
async fn an_actuators_ask_shows_in_the_view_and_its_notes_become_engine_notes() {
    let cell = crate::engine::AskCell::default();
    let fake = Fake {
        asking: Some(cell.clone()),
        ..Fake::default()
    };
    let (ctx, crx) = mpsc::channel(16);
    let (etx, mut erx) = mpsc::channel(1024);
    let actor = Actor::new(
        "r1".into(),
        plan(1),
        vec![ExecPolicy::default()],
        fake,
        MemJournal::default(),
        crx,
        etx,
        true,
    )
    .with_asking(cell);
    let task = tokio::spawn(actor.run());
    ctx.send(Command::Verb {
        verb: Verb::Run,
        by: "alice".into(),
    })
    .await
    .unwrap();
    let (mut asked, mut noted, mut last) = (false, false, None);
    while let Some(ev) = erx.recv().await {
        match ev {
            EngineEvent::View(v) => {
                asked |= v.ask.as_ref().is_some_and(|a| a.word == "db-2");
                last = Some(v);
            }
            EngineEvent::Note { text, .. } => noted |= text == "deleted pod db-2",
            EngineEvent::Exited { .. } => break,
            EngineEvent::Refused { .. } => {}
        }
    }
    assert!(asked && noted);
    assert_eq!(last.unwrap().ask, None, "the ask leaves with its step");
    task.await.unwrap();
}

mod partial;
