//! Steps stopped or failed after part of their effect landed are undone by a rollback;
//! an inconclusive postcheck pauses for a human instead of failing.

use super::*;
use crate::engine::state::Landed;

fn kinds(journal: &MemJournal) -> Vec<&'static str> {
    journal.records.iter().map(|r| r.kind()).collect()
}

fn effects(fake: &Fake) -> Vec<String> {
    fake.effects.lock().unwrap().clone()
}

#[tokio::test(start_paused = true)]
async fn a_rollback_after_a_pause_mid_batches_undoes_the_batches_that_landed() {
    let (fake, mut h) = running_batches().await;
    tokio::time::sleep(Duration::from_millis(550)).await;
    verb(&h, Verb::Pause).await;
    let v = until(&mut h, |v| v.status == Status::Paused).await;
    assert!(
        matches!(v.steps[0].status, StepStatus::Partial { .. }),
        "{:?}",
        v.steps[0]
    );
    verb(
        &h,
        Verb::Rollback {
            reason: "wrong backfill".into(),
        },
    )
    .await;
    let (state, journal) = h.task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::RolledBack));
    assert!(
        effects(&fake).contains(&"r1/s0/undo".to_string()),
        "{:?}",
        effects(&fake)
    );
    assert_eq!(state.status_of[0], StepStatus::Compensated);
    // A resume rebuilds the same from the journal.
    let replayed = replay(plan(2), &journal.records).unwrap();
    assert_eq!(replayed.state.status_of, state.status_of);
}

#[tokio::test(start_paused = true)]
async fn a_batched_step_failing_after_some_batches_is_journaled_partial_and_undone() {
    let (mut fake, stop) = batched();
    fake.fail_at_batch = Some(4);
    let mut h = start_with(
        plan(2),
        fake.clone(),
        MemJournal::default(),
        vec![],
        true,
        Some(stop),
    );
    verb(&h, Verb::Run).await;
    let v = until(&mut h, |v| v.status == Status::Paused).await;
    assert!(matches!(v.steps[0].status, StepStatus::Failed { .. }));
    assert_eq!(v.steps[0].landed, Landed::Part("4 batches applied".into()));
    verb(
        &h,
        Verb::Rollback {
            reason: "give up".into(),
        },
    )
    .await;
    let (state, journal) = h.task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::RolledBack));
    assert_eq!(
        effects(&fake).last().map(String::as_str),
        Some("r1/s0/undo"),
        "{:?}",
        effects(&fake)
    );
    assert!(
        journal.records.iter().any(|r| matches!(
            r,
            Record::Failed { landed: Landed::Part(p), .. } if p == "4 batches applied"
        )),
        "{:?}",
        journal.records
    );
    let replayed = replay(plan(2), &journal.records).unwrap();
    assert_eq!(replayed.state.status_of, state.status_of);
}

#[tokio::test(start_paused = true)]
async fn a_failing_postcheck_after_the_effect_applied_is_undone_by_on_failure_rollback() {
    let fake = Fake::default();
    fake.postchecks.lock().unwrap().extend([
        CheckOutcome::Pass,
        CheckOutcome::Fail("errors at 9%".into()),
    ]);
    let mut state = plan(3);
    state.steps[1].on_failure = OnFailure::Rollback;
    let h = start(state, fake.clone(), MemJournal::default(), vec![], true);
    verb(&h, Verb::Run).await;
    let (state, _) = h.task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::RolledBack));
    assert_eq!(
        effects(&fake),
        vec!["r1/s0", "r1/s1", "r1/s1/undo", "r1/s0/undo"],
        "the step whose postcheck failed is undone first"
    );
}

#[tokio::test(start_paused = true)]
async fn an_inconclusive_postcheck_pauses_naming_it_without_retry_or_rollback() {
    let fake = Fake::default();
    fake.postchecks
        .lock()
        .unwrap()
        .push_back(CheckOutcome::Inconclusive(
            "promql on metrics: connection refused".into(),
        ));
    let mut state = plan(2);
    state.steps[0].on_failure = OnFailure::Rollback;
    let policy = ExecPolicy {
        retries: 3,
        ..ExecPolicy::default()
    };
    let mut h = start(
        state,
        fake.clone(),
        MemJournal::default(),
        vec![policy.clone(), policy],
        true,
    );
    verb(&h, Verb::Run).await;
    let v = until(&mut h, |v| v.status == Status::Paused).await;
    let reason = v.pause.clone().unwrap().text;
    assert!(
        reason.contains("postcheck of s0") && reason.contains("promql on metrics"),
        "{reason}"
    );
    assert_eq!(v.direction, Direction::Forward);
    assert_eq!(
        v.steps[0].status,
        StepStatus::Unchecked {
            why: "postcheck inconclusive".into()
        }
    );
    assert_eq!(effects(&fake), vec!["r1/s0"]);
    // Going on evaluates the postcheck again (it passes now), without applying again.
    verb(&h, Verb::Run).await;
    let (state, journal) = h.task.await.unwrap();
    assert_eq!(state.status, Status::Finished(Final::Completed));
    assert_eq!(effects(&fake), vec!["r1/s0", "r1/s1"]);
    let kinds = kinds(&journal);
    assert!(
        !kinds.contains(&"step.attempt_failed") && !kinds.contains(&"step.failed"),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"run.held"), "{kinds:?}");
}

#[test]
fn journals_from_before_partial_steps_replay_as_they_did() {
    // Written before `landed` was kept: an interruption during a rollback counted as
    // applied (and was undone), one going forward as not run.
    let old = [
        r#"{"kind":"verb","verb":"Run","by":"alice"}"#,
        r#"{"kind":"intent","step":0,"attempt":1,"key":"r1/s0"}"#,
        r#"{"kind":"interrupted","step":0,"undo":false,"at":"batch 3"}"#,
    ];
    let records: Vec<Record> = old
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let replayed = replay(plan(2), &records).unwrap();
    assert_eq!(replayed.state.status_of[0], StepStatus::Pending);
    let failed: Record =
        serde_json::from_str(r#"{"kind":"failed","step":0,"error":"boom"}"#).unwrap();
    assert_eq!(
        failed,
        Record::Failed {
            step: 0,
            error: "boom".into(),
            landed: Landed::Nothing
        }
    );
}
