//! Journal records of a run: every transition is appended (and committed) before its
//! effect; replaying them rebuilds the run's state after a crash or a dropped session.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::state::{Direction, Landed, RunState, Verb};

/// One journaled transition. The store keeps `kind()` and `key()` as columns and the
/// whole value as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// A responder's verb, with who asked.
    Verb {
        verb: Verb,
        by: String,
    },
    /// About to apply step `step` (attempt `attempt`); `key` is the effect's idempotency key.
    Intent {
        step: usize,
        attempt: u32,
        key: String,
    },
    Applied {
        step: usize,
    },
    /// One attempt failed; the step (or its undo) will be tried again. `landed`: what of
    /// the step's effect was in place (absent in journals written before it was kept).
    AttemptFailed {
        step: usize,
        error: String,
        #[serde(default, skip_serializing_if = "Landed::is_nothing")]
        landed: Landed,
    },
    /// The step (not its undo: see `UndoFailed`) failed, with `landed` of its effect in
    /// place: part of it, or all of it with its postcheck failing. A rollback undoes that.
    Failed {
        step: usize,
        error: String,
        #[serde(default, skip_serializing_if = "Landed::is_nothing")]
        landed: Landed,
    },
    /// About to undo step `step`.
    UndoIntent {
        step: usize,
        attempt: u32,
        key: String,
    },
    Compensated {
        step: usize,
    },
    UndoFailed {
        step: usize,
        error: String,
    },
    /// Rolled back past a step with no undo.
    NoUndo {
        step: usize,
    },
    /// A check could not be evaluated or a condition needs a human: the run paused.
    Held {
        reason: String,
        by: String,
    },
    /// An in-doubt step was settled, by its actuator's probe or by the operator.
    /// `partial`: its target says it was cut off after this part of it landed.
    Resolved {
        step: usize,
        undo: bool,
        happened: bool,
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partial: Option<String>,
    },
    /// The step in flight (or its undo) stopped at an inner safe point on a stop request,
    /// or on a check that could not be evaluated; `at` says where (e.g. the batch it
    /// reached), `landed` what of the step's effect was in place. Journals written before
    /// `landed` was kept have none: replay reads them as it did then.
    Interrupted {
        step: usize,
        undo: bool,
        at: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        landed: Option<Landed>,
    },
    /// What `verify` checks compare against, captured from the targets when the run
    /// started (by target name), so a resumed run compares with the same figures.
    Baseline {
        data: serde_json::Value,
    },
    /// What an effect is about to overwrite, journaled before the write so its automatic
    /// undo restores exactly that (a `patch`'s touched fields as they were; `null`: absent).
    PreImage {
        step: usize,
        key: String,
        data: serde_json::Value,
    },
    /// The console lost its terminal or was told to stop; the run pauses for `ebb resume`.
    Detached {
        reason: String,
    },
}

impl Record {
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Verb { .. } => "verb",
            Record::Intent { .. } => "step.intent",
            Record::Applied { .. } => "step.applied",
            Record::AttemptFailed { .. } => "step.attempt_failed",
            Record::Failed { .. } => "step.failed",
            Record::UndoIntent { .. } => "undo.intent",
            Record::Compensated { .. } => "undo.applied",
            Record::UndoFailed { .. } => "undo.failed",
            Record::NoUndo { .. } => "undo.none",
            Record::Held { .. } => "run.held",
            Record::Resolved { .. } => "step.resolved",
            Record::Interrupted { .. } => "step.interrupted",
            Record::Baseline { .. } => "run.baseline",
            Record::Detached { .. } => "run.detached",
            Record::PreImage { .. } => "step.pre_image",
        }
    }

    /// The idempotency key the store enforces uniqueness of (per run and kind).
    pub fn key(&self) -> Option<String> {
        match self {
            Record::Intent { key, attempt, .. } | Record::UndoIntent { key, attempt, .. } => {
                Some(format!("{key}#{attempt}"))
            }
            _ => None,
        }
    }

    pub fn step(&self) -> Option<usize> {
        match self {
            Record::Intent { step, .. }
            | Record::Applied { step }
            | Record::AttemptFailed { step, .. }
            | Record::Failed { step, .. }
            | Record::UndoIntent { step, .. }
            | Record::Compensated { step }
            | Record::UndoFailed { step, .. }
            | Record::NoUndo { step }
            | Record::Interrupted { step, .. }
            | Record::PreImage { step, .. }
            | Record::Resolved { step, .. } => Some(*step),
            _ => None,
        }
    }
}

/// The effect key of a step: the same for every attempt, distinct for its undo.
pub fn effect_key(run_id: &str, step_id: &str, undo: bool) -> String {
    if undo {
        format!("{run_id}/{step_id}/undo")
    } else {
        format!("{run_id}/{step_id}")
    }
}

/// Where records go. `append` returns only once the record is durable.
pub trait Journal {
    fn append(&mut self, record: &Record) -> impl Future<Output = Result<(), String>> + Send;
}

/// A journal in memory, for tests and for drills with no store.
#[derive(Clone, Debug, Default)]
pub struct MemJournal {
    pub records: Vec<Record>,
    /// Fail every append from this index on (tests of fail-closed behaviour).
    pub fail_from: Option<usize>,
}

impl Journal for MemJournal {
    async fn append(&mut self, record: &Record) -> Result<(), String> {
        if self.fail_from.is_some_and(|n| self.records.len() >= n) {
            return Err("journal unavailable".into());
        }
        // Like the store: one record per (kind, idempotency key).
        if let Some(key) = record.key()
            && self
                .records
                .iter()
                .any(|r| r.kind() == record.kind() && r.key().as_deref() == Some(key.as_str()))
        {
            return Err(format!("duplicate {} {key}", record.kind()));
        }
        self.records.push(record.clone());
        Ok(())
    }
}

/// What replay found: the rebuilt state, and the effects left in flight by a crash.
#[derive(Debug)]
pub struct Replayed {
    pub state: RunState,
    /// (step, undo, effect key) of an intent with no outcome.
    pub in_doubt: Option<(usize, bool, String)>,
}

/// Per step, where it was stopped inside and not finished since (`step.interrupted`).
pub fn stopped_at(steps: usize, records: &[Record]) -> Vec<Option<String>> {
    let mut out = vec![None; steps];
    for r in records {
        match r {
            Record::Interrupted { step, at, .. } => {
                if let Some(s) = out.get_mut(*step) {
                    *s = Some(at.clone());
                }
            }
            Record::Applied { step }
            | Record::Compensated { step }
            | Record::Failed { step, .. }
            | Record::UndoFailed { step, .. } => {
                if let Some(s) = out.get_mut(*step) {
                    *s = None;
                }
            }
            _ => {}
        }
    }
    out
}

/// What an interruption journaled without `landed` meant when it was written: a forward
/// step cut off by a rollback counted as applied (and was undone), otherwise as not run.
fn legacy_interrupt(state: &RunState, undo: bool, at: &str) -> Landed {
    if !undo && state.direction == Direction::Rollback {
        Landed::Part(format!("stopped at {at}"))
    } else {
        Landed::Nothing
    }
}

/// A journal that does not belong to the plan it is replayed with: a record naming a step
/// the plan does not have (a corrupt or foreign journal). `index` counts records from 0.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("journal record {index} ({kind}) {why}")]
pub struct ReplayError {
    pub index: usize,
    pub kind: &'static str,
    pub why: String,
}

/// Rebuilds a run's state from its records, in order. Arbitrary records never panic: one
/// that names a step the plan does not have is an error naming it.
pub fn replay(mut state: RunState, records: &[Record]) -> Result<Replayed, ReplayError> {
    let steps = state.steps.len();
    if let Some((index, r, step)) = records
        .iter()
        .enumerate()
        .find_map(|(i, r)| r.step().filter(|s| *s >= steps).map(|s| (i, r, s)))
    {
        return Err(ReplayError {
            index,
            kind: r.kind(),
            why: format!(
                "names step {}, but the plan has {steps} step{}",
                step + 1,
                if steps == 1 { "" } else { "s" }
            ),
        });
    }
    let mut in_doubt = None;
    for r in records {
        match r {
            Record::Verb { verb, by } => {
                let _ = state.apply_verb(verb, by);
            }
            Record::Intent { step, attempt, key } => {
                let _ = state.begin(*step, *attempt);
                in_doubt = Some((*step, false, key.clone()));
            }
            Record::UndoIntent { step, key, attempt } => {
                state.note_undo_attempt(*step, *attempt);
                let _ = state.begin_undo(*step);
                in_doubt = Some((*step, true, key.clone()));
            }
            Record::Applied { step } | Record::Compensated { step } => {
                state.finish(*step, Ok(()));
                in_doubt = None;
            }
            Record::Failed {
                step,
                error,
                landed,
            } => {
                state.fail(*step, error.clone(), landed.clone());
                in_doubt = None;
            }
            Record::UndoFailed { step, error } => {
                state.finish(*step, Err(error.clone()));
                in_doubt = None;
            }
            Record::AttemptFailed { step, landed, .. } => {
                state.attempt_failed(*step, landed.clone());
                in_doubt = None;
            }
            Record::Interrupted {
                step,
                undo,
                at,
                landed,
            } => {
                let landed = landed
                    .clone()
                    .unwrap_or_else(|| legacy_interrupt(&state, *undo, at));
                state.interrupt(*step, landed);
                in_doubt = None;
            }
            Record::NoUndo { step } => {
                let _ = state.begin_undo(*step);
            }
            Record::Held { reason, by } => state.hold(reason.clone(), by.clone()),
            Record::Resolved {
                step,
                undo,
                happened,
                partial,
                ..
            } => {
                match partial {
                    Some(done) if !*undo => state.resolve_partial(*step, done.clone()),
                    _ => state.resolve(*step, *undo, *happened),
                }
                in_doubt = None;
            }
            Record::Detached { reason } => state.hold(format!("detached: {reason}"), "engine"),
            Record::Baseline { .. } | Record::PreImage { .. } => {}
        }
    }
    if let Some((step, _, _)) = &in_doubt {
        state.mark_in_doubt(*step);
    }
    Ok(Replayed { state, in_doubt })
}

#[cfg(test)]
mod replay_props;
