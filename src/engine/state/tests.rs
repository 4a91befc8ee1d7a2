//! The run state machine against random sequences of verbs and step outcomes.

use proptest::prelude::*;

use super::*;

fn steps(n: usize, undo_mask: u8, fail_policy: u8) -> Vec<StepInfo> {
    (0..n)
        .map(|i| StepInfo {
            id: format!("s{i}"),
            has_undo: undo_mask & (1 << i) != 0,
            on_failure: match (fail_policy >> (i % 4)) & 3 {
                0 | 3 => OnFailure::Pause,
                1 => OnFailure::Rollback,
                _ => OnFailure::Abort,
            },
        })
        .collect()
}

/// How an effect ended, and how much of it landed.
#[derive(Clone, Debug)]
enum End {
    Ok,
    /// Failed with nothing of it in place.
    Fail,
    /// Failed after part of it landed.
    FailAfterPart,
    /// Applied, then its postcheck failed.
    PostcheckFailed,
}

#[derive(Clone, Debug)]
enum Op {
    Verb(Verb),
    /// The executor does what `next()` says and the effect ends so.
    Drive {
        end: End,
    },
    /// The executor starts what `next()` says but has not finished yet.
    Start,
    /// The in-flight effect finishes.
    Finish {
        end: End,
    },
    Hold,
    Crash,
    /// The in-flight effect stops at an inner safe point (a batch boundary), after part
    /// of it landed or not.
    Interrupt {
        landed: bool,
    },
    /// The in-flight attempt fails (after part of it landed or not) and will be retried.
    AttemptFailed {
        landed: bool,
    },
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        3 => Just(End::Ok),
        1 => Just(End::Fail),
        1 => Just(End::FailAfterPart),
        1 => Just(End::PostcheckFailed),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Verb(Verb::Run)),
        1 => Just(Op::Verb(Verb::Pause)),
        1 => Just(Op::Verb(Verb::Step)),
        1 => Just(Op::Verb(Verb::Abort { reason: "r".into() })),
        1 => Just(Op::Verb(Verb::Rollback { reason: "r".into() })),
        1 => Just(Op::Verb(Verb::Retry)),
        1 => Just(Op::Verb(Verb::Skip { reason: "r".into() })),
        1 => Just(Op::Verb(Verb::Resolve { applied: true, reason: "r".into() })),
        1 => Just(Op::Verb(Verb::Resolve { applied: false, reason: "r".into() })),
        4 => end().prop_map(|end| Op::Drive { end }),
        1 => Just(Op::Start),
        1 => end().prop_map(|end| Op::Finish { end }),
        1 => Just(Op::Hold),
        1 => Just(Op::Crash),
        1 => any::<bool>().prop_map(|landed| Op::Interrupt { landed }),
        1 => any::<bool>().prop_map(|landed| Op::AttemptFailed { landed }),
    ]
}

fn start(s: &mut RunState) -> Option<usize> {
    match s.next() {
        Next::Apply(i) => s.begin(i, 1).ok().map(|_| i),
        Next::Undo(i) => s.begin_undo(i).ok().map(|_| i),
        Next::Wait => None,
    }
}

/// What the world holds of each step's effect, kept by the test beside the state machine.
#[derive(Default)]
struct World {
    effect: Vec<bool>,
    /// Steps the machine asked to undo while none of their effect was in place.
    undone_without_effect: Vec<usize>,
}

impl World {
    fn new(n: usize) -> World {
        World {
            effect: vec![false; n],
            undone_without_effect: Vec::new(),
        }
    }

    /// Starts what `next()` says, noting an undo of a step that has no effect.
    fn start(&mut self, s: &mut RunState) -> Option<(usize, bool)> {
        match s.next() {
            Next::Apply(i) => s.begin(i, 1).ok().map(|_| (i, false)),
            Next::Undo(i) => {
                if !self.effect[i] {
                    self.undone_without_effect.push(i);
                }
                s.begin_undo(i).ok().map(|_| (i, true))
            }
            Next::Wait => None,
        }
    }

    /// Ends the in-flight effect (or undo) of step `i`.
    fn end(&mut self, s: &mut RunState, i: usize, undo: bool, end: &End) {
        if undo {
            match end {
                End::Ok => {
                    self.effect[i] = false;
                    s.finish(i, Ok(()));
                }
                _ => s.finish(i, Err("boom".into())),
            }
            return;
        }
        match end {
            End::Ok => {
                self.effect[i] = true;
                s.finish(i, Ok(()));
            }
            End::Fail => s.fail(i, "boom".into(), Landed::Nothing),
            End::FailAfterPart => {
                self.effect[i] = true;
                s.fail(i, "boom".into(), Landed::Part("3 batches applied".into()));
            }
            End::PostcheckFailed => {
                self.effect[i] = true;
                s.fail(
                    i,
                    "postcheck failed".into(),
                    Landed::Unchecked("postcheck failed".into()),
                );
            }
        }
    }
}

fn check_invariants(s: &RunState) -> Result<(), TestCaseError> {
    let in_flight = s
        .status_of
        .iter()
        .filter(|x| matches!(x, StepStatus::Running { .. } | StepStatus::Undoing))
        .count();
    prop_assert!(in_flight <= 1, "two effects in flight: {:?}", s.status_of);
    if in_flight == 1 {
        prop_assert!(
            matches!(s.status, Status::Running | Status::Pausing),
            "in flight while {:?}",
            s.status
        );
    }
    // No step completes twice.
    let mut seen = std::collections::HashSet::new();
    for i in &s.completed {
        prop_assert!(
            seen.insert(*i),
            "step {i} completed twice: {:?}",
            s.completed
        );
    }
    // Rollback undoes in reverse completion order.
    let pos = |i: usize| s.completed.iter().position(|c| *c == i);
    for w in s.compensated.windows(2) {
        if let (Some(a), Some(b)) = (pos(w[0]), pos(w[1])) {
            prop_assert!(
                a > b,
                "undo order {:?} vs completion {:?}",
                s.compensated,
                s.completed
            );
        }
    }
    match s.status {
        Status::Finished(Final::Completed) => {
            for st in &s.status_of {
                prop_assert!(
                    matches!(st, StepStatus::Applied | StepStatus::Skipped { .. }),
                    "completed with {:?}",
                    s.status_of
                );
            }
        }
        Status::Finished(Final::RolledBack) => {
            prop_assert!(
                !s.status_of.contains(&StepStatus::Applied),
                "rolled back with {:?}",
                s.status_of
            );
            // Nothing of any step is left in place but what a human chose to leave (a
            // skipped undo) or what has no undo.
            for (i, l) in s.landed.iter().enumerate() {
                prop_assert!(
                    l.is_nothing() || s.status_of[i] == StepStatus::NotCompensated,
                    "rolled back with step {i} {:?} landed {:?}",
                    s.status_of[i],
                    l
                );
            }
        }
        _ => {}
    }
    // A step at rest says what of it landed.
    for (i, st) in s.status_of.iter().enumerate() {
        match st {
            StepStatus::Pending => {
                prop_assert!(s.landed[i].is_nothing(), "pending with {:?}", s.landed[i])
            }
            StepStatus::Partial { .. } => prop_assert!(
                matches!(s.landed[i], Landed::Part(_)),
                "partial with {:?}",
                s.landed[i]
            ),
            StepStatus::Unchecked { .. } => prop_assert!(
                matches!(s.landed[i], Landed::Unchecked(_)),
                "unchecked with {:?}",
                s.landed[i]
            ),
            StepStatus::Applied => prop_assert_eq!(&s.landed[i], &Landed::Whole),
            StepStatus::Compensated => prop_assert!(s.landed[i].is_nothing()),
            _ => {}
        }
        if !s.landed[i].is_nothing() {
            prop_assert!(
                s.completed.contains(&i),
                "step {i} landed and is not in the undo order"
            );
        }
    }
    // A blocked step stops everything until a human decides.
    if s.status_of
        .iter()
        .any(|x| matches!(x, StepStatus::Failed { .. } | StepStatus::InDoubt { .. }))
    {
        prop_assert_eq!(s.next(), Next::Wait);
    }
    // An applied step is in the completion list; a compensated one was completed first.
    for (i, st) in s.status_of.iter().enumerate() {
        if matches!(
            st,
            StepStatus::Applied | StepStatus::Compensated | StepStatus::Undoing
        ) {
            prop_assert!(
                s.completed.contains(&i),
                "step {i} {:?} never completed",
                st
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_reaches_an_illegal_state(n in 1usize..7, undo in any::<u8>(), pol in any::<u8>(), ops in proptest::collection::vec(op(), 0..60)) {
        let mut s = RunState::new(steps(n, undo, pol));
        let mut world = World::new(n);
        let mut flying: Option<(usize, bool)> = None;
        for op in ops {
            let before_finished = s.status;
            match op {
                Op::Verb(v) => {
                    // The operator's word on an in-doubt step is what the world holds.
                    let doubt = s.status_of.iter().enumerate().find_map(|(i, st)| match st {
                        StepStatus::InDoubt { undo } => Some((i, *undo)),
                        _ => None,
                    });
                    if s.apply_verb(&v, "alice").is_ok()
                        && let (Verb::Resolve { applied: true, .. }, Some((i, undo))) = (&v, doubt)
                    {
                        world.effect[i] = !undo;
                    }
                }
                Op::Drive { end } => {
                    if flying.is_none() && let Some((i, undo)) = world.start(&mut s) {
                        world.end(&mut s, i, undo, &end);
                    }
                }
                Op::Start => {
                    if flying.is_none() {
                        flying = world.start(&mut s);
                    }
                }
                Op::Finish { end } => {
                    if let Some((i, undo)) = flying.take() {
                        world.end(&mut s, i, undo, &end);
                    }
                }
                Op::Hold => s.hold("gate held", "gate"),
                Op::Crash => {
                    if let Some((i, _)) = flying.take() {
                        s.mark_in_doubt(i);
                    }
                }
                Op::Interrupt { landed } => {
                    if let Some((i, undo)) = flying.take() {
                        let what = if landed && !undo {
                            world.effect[i] = true;
                            Landed::Part("batch 3".into())
                        } else {
                            Landed::Nothing
                        };
                        s.interrupt(i, what);
                        prop_assert!(s.in_flight().is_none(), "an interrupted step is not in flight");
                        prop_assert!(s.status != Status::Pausing, "an interrupt reaches the safe point");
                    }
                }
                Op::AttemptFailed { landed } => {
                    if let Some((i, undo)) = flying.take() {
                        let what = if landed && !undo {
                            world.effect[i] = true;
                            Landed::Part("batch 3".into())
                        } else {
                            Landed::Nothing
                        };
                        s.attempt_failed(i, what);
                    }
                }
            }
            if let Status::Finished(Final::RolledBack) = before_finished {
                prop_assert_eq!(s.status, Status::Finished(Final::RolledBack), "rolled back is final");
            }
            check_invariants(&s)?;
            // A rollback never undoes a step none of whose effect landed...
            prop_assert!(
                world.undone_without_effect.is_empty(),
                "undid {:?} with nothing of them in place",
                world.undone_without_effect
            );
            // ...and never leaves one out that has effect, unless no undo or a human says so.
            if s.status == Status::Finished(Final::RolledBack) {
                for (i, e) in world.effect.iter().enumerate() {
                    prop_assert!(
                        !*e || s.status_of[i] == StepStatus::NotCompensated,
                        "rolled back leaving step {i} {:?} in place: {:?}",
                        s.status_of[i],
                        s.status_of
                    );
                }
            }
        }
    }

    #[test]
    fn a_full_run_then_rollback_undoes_in_reverse(n in 1usize..8) {
        let mut s = RunState::new(steps(n, 0xff, 0));
        s.apply_verb(&Verb::Run, "alice").unwrap();
        while let Some(i) = start(&mut s) {
            s.finish(i, Ok(()));
        }
        prop_assert_eq!(s.status, Status::Finished(Final::Completed));
        s.apply_verb(&Verb::Rollback { reason: "bad release".into() }, "alice").unwrap();
        while let Some(i) = start(&mut s) {
            s.finish(i, Ok(()));
        }
        prop_assert_eq!(s.status, Status::Finished(Final::RolledBack));
        let mut rev = s.completed.clone();
        rev.reverse();
        prop_assert_eq!(&s.compensated, &rev);
    }
}

#[test]
fn pause_holds_at_the_next_safe_point_and_names_who_asked() {
    let mut s = RunState::new(steps(3, 0xff, 0));
    s.apply_verb(&Verb::Run, "alice").unwrap();
    let i = start(&mut s).unwrap();
    s.apply_verb(&Verb::Pause, "bob").unwrap();
    assert_eq!(s.status, Status::Pausing);
    s.finish(i, Ok(()));
    assert_eq!(s.status, Status::Paused);
    assert_eq!(s.pause.as_ref().unwrap().by, "bob");
    assert_eq!(s.next(), Next::Wait);
}

#[test]
fn step_mode_runs_exactly_one_step() {
    let mut s = RunState::new(steps(3, 0xff, 0));
    s.apply_verb(&Verb::Step, "alice").unwrap();
    let i = start(&mut s).unwrap();
    s.finish(i, Ok(()));
    assert_eq!(s.status, Status::Paused);
    assert_eq!(s.completed, vec![0]);
    s.apply_verb(&Verb::Step, "alice").unwrap();
    assert_eq!(s.next(), Next::Apply(1));
}

#[test]
fn failure_pauses_and_needs_a_decision() {
    let mut s = RunState::new(steps(2, 0xff, 0));
    s.apply_verb(&Verb::Run, "alice").unwrap();
    let i = start(&mut s).unwrap();
    s.finish(i, Err("timeout".into()));
    assert_eq!(s.status, Status::Paused);
    assert!(
        s.pause
            .as_ref()
            .unwrap()
            .text
            .contains("s0 failed: timeout")
    );
    assert!(s.apply_verb(&Verb::Run, "alice").is_err());
    assert!(
        s.apply_verb(&Verb::Skip { reason: " ".into() }, "alice")
            .is_err()
    );
    s.apply_verb(&Verb::Retry, "alice").unwrap();
    assert_eq!(s.next(), Next::Apply(0));
}

#[test]
fn in_doubt_waits_for_the_operator() {
    let mut s = RunState::new(steps(2, 0xff, 0));
    s.apply_verb(&Verb::Run, "alice").unwrap();
    let i = start(&mut s).unwrap();
    s.mark_in_doubt(i);
    assert_eq!(s.next(), Next::Wait);
    assert!(s.apply_verb(&Verb::Run, "alice").is_err());
    s.apply_verb(
        &Verb::Resolve {
            applied: true,
            reason: "marker row present".into(),
        },
        "alice",
    )
    .unwrap();
    assert_eq!(s.status_of[0], StepStatus::Applied);
    s.apply_verb(&Verb::Run, "alice").unwrap();
    assert_eq!(s.next(), Next::Apply(1));
}
