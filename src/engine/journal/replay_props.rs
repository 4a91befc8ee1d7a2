//! Replay against arbitrary journals: any sequence of records, including ones naming steps
//! the plan does not have, either rebuilds a state or is a located error, never a panic.

use proptest::prelude::*;

use super::super::state::{Landed, OnFailure, RunState, StepInfo, Verb};
use super::{Record, replay};

fn plan(n: usize, undo_mask: u8) -> RunState {
    RunState::new(
        (0..n)
            .map(|i| StepInfo {
                id: format!("s{i}"),
                has_undo: undo_mask & (1 << i) != 0,
                on_failure: [OnFailure::Pause, OnFailure::Rollback, OnFailure::Abort][i % 3],
            })
            .collect(),
    )
}

fn landed() -> impl Strategy<Value = Landed> {
    prop_oneof![
        Just(Landed::Nothing),
        Just(Landed::Part("3 batches applied".into())),
        Just(Landed::Unchecked("postcheck failed".into())),
        Just(Landed::Whole),
    ]
}

fn verb() -> impl Strategy<Value = Verb> {
    prop_oneof![
        Just(Verb::Run),
        Just(Verb::Pause),
        Just(Verb::Step),
        Just(Verb::Retry),
        Just(Verb::Abort { reason: "r".into() }),
        Just(Verb::Rollback { reason: "r".into() }),
        Just(Verb::Skip { reason: "r".into() }),
        any::<bool>().prop_map(|applied| Verb::Resolve {
            applied,
            reason: "r".into()
        }),
    ]
}

/// Any record, its step drawn from `0..steps` (and beyond it, for foreign journals).
fn record(steps: usize) -> impl Strategy<Value = Record> {
    let step = 0..steps;
    prop_oneof![
        verb().prop_map(|verb| Record::Verb {
            verb,
            by: "a".into()
        }),
        (step.clone(), 1..4u32).prop_map(|(step, attempt)| Record::Intent {
            step,
            attempt,
            key: format!("k{step}")
        }),
        step.clone().prop_map(|step| Record::Applied { step }),
        (step.clone(), landed()).prop_map(|(step, landed)| Record::AttemptFailed {
            step,
            error: "e".into(),
            landed
        }),
        (step.clone(), landed()).prop_map(|(step, landed)| Record::Failed {
            step,
            error: "e".into(),
            landed
        }),
        (step.clone(), 1..4u32).prop_map(|(step, attempt)| Record::UndoIntent {
            step,
            attempt,
            key: format!("u{step}")
        }),
        step.clone().prop_map(|step| Record::Compensated { step }),
        step.clone().prop_map(|step| Record::UndoFailed {
            step,
            error: "e".into()
        }),
        step.clone().prop_map(|step| Record::NoUndo { step }),
        Just(Record::Held {
            reason: "held".into(),
            by: "engine".into()
        }),
        (step.clone(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(step, undo, happened, partial)| Record::Resolved {
                step,
                undo,
                happened,
                by: "a".into(),
                partial: partial.then(|| "2 batches".into()),
            }
        ),
        (step.clone(), any::<bool>(), proptest::option::of(landed())).prop_map(
            |(step, undo, landed)| Record::Interrupted {
                step,
                undo,
                at: "batch 2".into(),
                landed
            }
        ),
        Just(Record::Detached {
            reason: "gone".into()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Records of the plan's own steps, in any order: replay rebuilds a state.
    #[test]
    fn arbitrary_records_of_the_plan_replay_without_panic(
        (n, records) in (1usize..5).prop_flat_map(|n| (Just(n), proptest::collection::vec(record(n), 0..40))),
        undo in any::<u8>(),
    ) {
        prop_assert!(replay(plan(n, undo), &records).is_ok());
    }

    /// A journal naming steps beyond the plan is refused, naming the first such record.
    #[test]
    fn a_foreign_journal_is_an_error_naming_its_first_bad_record(
        (n, records) in (1usize..4).prop_flat_map(|n| (Just(n), proptest::collection::vec(record(n + 3), 1..30))),
    ) {
        let first_bad = records.iter().position(|r| r.step().is_some_and(|s| s >= n));
        match (replay(plan(n, 0xff), &records), first_bad) {
            (Ok(_), None) => {}
            (Err(e), Some(i)) => {
                prop_assert_eq!(e.index, i);
                prop_assert!(e.why.contains(&format!("the plan has {n} step")), "{}", e);
            }
            (got, want) => prop_assert!(false, "replay {:?}, first bad record {:?}", got.map(|_| ()), want),
        }
    }
}
