//! The run state machine, pure: verbs from responders and outcomes from actuators move a
//! `RunState`; the actor asks it what to do next. No I/O, no clock; property-tested.

use serde::{Deserialize, Serialize};

/// Which way the run is going.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    Forward,
    Rollback,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Final {
    Completed,
    Aborted,
    RolledBack,
}

impl Final {
    /// As a responder reads it: `completed`, `aborted`, `rolled back`.
    pub fn word(self) -> &'static str {
        match self {
            Final::Completed => "completed",
            Final::Aborted => "aborted",
            Final::RolledBack => "rolled back",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    NotStarted,
    Running,
    /// A pause or abort was asked for; it holds at the next safe point.
    Pausing,
    Paused,
    Finished(Final),
}

/// Why a run is paused, and who asked: gh-ost style, the first reason wins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseReason {
    pub text: String,
    pub by: String,
}

/// What of a step's effect is in place, as far as the journal knows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Landed {
    #[default]
    Nothing,
    /// Part of it: the step stopped or failed after some of its effect committed; the
    /// text says what (`86 batches applied`).
    Part(String),
    /// All of it, but the step's postcheck did not pass; the text says how
    /// (`postcheck failed`, `postcheck inconclusive`). Going on re-evaluates it.
    Unchecked(String),
    /// All of it: the step applied.
    Whole,
}

impl Landed {
    pub fn is_nothing(&self) -> bool {
        *self == Landed::Nothing
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepStatus {
    Pending,
    /// Stopped or failed after part of its effect landed (`done` says what). Going on
    /// continues it from its checkpoint; a rollback undoes that part.
    Partial {
        done: String,
    },
    /// Its effect applied and its postcheck did not pass (`why`). Going on evaluates the
    /// postcheck again; a rollback undoes the effect.
    Unchecked {
        why: String,
    },
    /// Intent committed; the effect is in flight.
    Running {
        attempt: u32,
    },
    Applied,
    Failed {
        error: String,
        attempts: u32,
    },
    Skipped {
        reason: String,
    },
    /// Intent was committed before a crash and the actuator could not tell whether the
    /// effect happened (of the step, or of its undo). Waits for the operator.
    InDoubt {
        undo: bool,
    },
    Undoing,
    Compensated,
    UndoFailed {
        error: String,
    },
    /// Rolled back past a step that has no undo.
    NotCompensated,
}

/// What a responder can ask of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verb {
    Run,
    Pause,
    Step,
    Abort {
        reason: String,
    },
    Rollback {
        reason: String,
    },
    Retry,
    Skip {
        reason: String,
    },
    /// The operator's decision on an in-doubt step: did its effect happen?
    Resolve {
        applied: bool,
        reason: String,
    },
}

impl Verb {
    pub fn name(&self) -> &'static str {
        match self {
            Verb::Run => "run",
            Verb::Pause => "pause",
            Verb::Step => "step",
            Verb::Abort { .. } => "abort",
            Verb::Rollback { .. } => "rollback",
            Verb::Retry => "retry",
            Verb::Skip { .. } => "skip",
            Verb::Resolve { .. } => "resolve",
        }
    }

    /// The typed reason the verb carries, if it has one.
    pub fn reason(&self) -> Option<String> {
        match self {
            Verb::Abort { reason }
            | Verb::Rollback { reason }
            | Verb::Skip { reason }
            | Verb::Resolve { reason, .. } => Some(reason.clone()),
            Verb::Run | Verb::Pause | Verb::Step | Verb::Retry => None,
        }
    }
}

/// What the executor should do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Apply(usize),
    Undo(usize),
    /// Nothing to do until a verb arrives.
    Wait,
}

/// A verb that does not apply in the current state, with the reason shown to the responder.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// What a step failure does, from the step's `on_failure`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OnFailure {
    #[default]
    Pause,
    Rollback,
    Abort,
}

/// What the state machine needs to know of a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepInfo {
    pub id: String,
    pub has_undo: bool,
    pub on_failure: OnFailure,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopRequest {
    Pause,
    Abort,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunState {
    pub steps: Vec<StepInfo>,
    pub status_of: Vec<StepStatus>,
    pub status: Status,
    pub direction: Direction,
    /// Run one step, then pause.
    pub step_mode: bool,
    pub pause: Option<PauseReason>,
    /// Indices of steps whose effect landed (wholly or in part), in the order it first
    /// landed: a rollback undoes them in reverse.
    pub completed: Vec<usize>,
    /// Per step, what of its effect is in place (cleared when it is compensated).
    pub landed: Vec<Landed>,
    /// Indices in the order they were compensated.
    pub compensated: Vec<usize>,
    /// The highest attempt number journaled per step, and per step's undo.
    pub attempts: Vec<u32>,
    pub undo_attempts: Vec<u32>,
    stop: Option<StopRequest>,
}

impl RunState {
    pub fn new(steps: Vec<StepInfo>) -> RunState {
        let n = steps.len();
        RunState {
            steps,
            status_of: vec![StepStatus::Pending; n],
            status: Status::NotStarted,
            direction: Direction::Forward,
            step_mode: false,
            pause: None,
            completed: Vec::new(),
            landed: vec![Landed::Nothing; n],
            compensated: Vec::new(),
            attempts: vec![0; n],
            undo_attempts: vec![0; n],
            stop: None,
        }
    }

    /// The step whose effect is in flight, if any.
    pub fn in_flight(&self) -> Option<usize> {
        self.status_of
            .iter()
            .position(|s| matches!(s, StepStatus::Running { .. } | StepStatus::Undoing))
    }

    fn blocked_step(&self) -> Option<usize> {
        self.status_of.iter().position(|s| {
            matches!(
                s,
                StepStatus::Failed { .. }
                    | StepStatus::InDoubt { .. }
                    | StepStatus::UndoFailed { .. }
            )
        })
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.status, Status::Finished(_))
    }

    /// What to do now; `Wait` unless running (or pausing with nothing in flight yet decided).
    pub fn next(&self) -> Next {
        if self.status != Status::Running
            || self.in_flight().is_some()
            || self.blocked_step().is_some()
        {
            return Next::Wait;
        }
        match self.direction {
            Direction::Forward => match self.next_forward() {
                Some(i) => Next::Apply(i),
                None => Next::Wait,
            },
            Direction::Rollback => match self.next_undo() {
                Some(i) => Next::Undo(i),
                None => Next::Wait,
            },
        }
    }

    /// The first step not yet done going forward (a partial one continues).
    fn next_forward(&self) -> Option<usize> {
        self.status_of.iter().position(|s| {
            matches!(
                s,
                StepStatus::Pending | StepStatus::Partial { .. } | StepStatus::Unchecked { .. }
            )
        })
    }

    /// The step whose effect landed most recently and is not yet compensated: applied,
    /// partly applied, applied with its postcheck not passed, or skipped after part of it
    /// landed. A step none of whose effect landed is never undone.
    fn next_undo(&self) -> Option<usize> {
        self.completed.iter().rev().copied().find(|i| {
            !self.landed[*i].is_nothing()
                && matches!(
                    self.status_of[*i],
                    StepStatus::Applied
                        | StepStatus::Partial { .. }
                        | StepStatus::Unchecked { .. }
                        | StepStatus::Skipped { .. }
                )
        })
    }

    /// Records that `what` of step `i`'s effect is in place: more never becomes less
    /// (a failure that reports nothing leaves what an earlier attempt committed).
    fn land(&mut self, i: usize, what: Landed) {
        let now = &mut self.landed[i];
        match (&*now, what) {
            (_, Landed::Nothing) | (Landed::Whole, _) => {}
            (Landed::Unchecked(_), Landed::Part(_)) => {}
            (_, what) => *now = what,
        }
        if !now.is_nothing() && !self.completed.contains(&i) {
            self.completed.push(i);
        }
    }

    /// The status of step `i` at rest (not in flight, not failed), from what landed.
    fn at_rest(&self, i: usize) -> StepStatus {
        match &self.landed[i] {
            Landed::Nothing => StepStatus::Pending,
            Landed::Part(done) => StepStatus::Partial { done: done.clone() },
            Landed::Unchecked(why) => StepStatus::Unchecked { why: why.clone() },
            Landed::Whole => StepStatus::Applied,
        }
    }

    fn pause_now(&mut self, text: impl Into<String>, by: impl Into<String>) {
        self.status = Status::Paused;
        self.stop = None;
        if self.pause.is_none() {
            self.pause = Some(PauseReason {
                text: text.into(),
                by: by.into(),
            });
        }
    }

    /// Applies a responder's verb. `by` names who asked (recorded in pause reasons).
    pub fn apply_verb(&mut self, verb: &Verb, by: &str) -> Result<(), Refusal> {
        let finished = self.is_finished();
        match verb {
            Verb::Run | Verb::Step => {
                if finished {
                    return Err(Refusal("the run has finished".into()));
                }
                if let Some(i) = self.blocked_step() {
                    return Err(Refusal(format!(
                        "step {} is {}: retry, skip, roll back or abort first",
                        self.steps[i].id,
                        self.describe(i)
                    )));
                }
                self.step_mode = matches!(verb, Verb::Step);
                self.status = Status::Running;
                self.stop = None;
                self.pause = None;
                self.settle();
            }
            Verb::Pause => match self.status {
                Status::Running => {
                    if self.in_flight().is_some() {
                        self.status = Status::Pausing;
                        self.stop = Some(StopRequest::Pause);
                        self.pause = Some(PauseReason {
                            text: "paused".into(),
                            by: by.into(),
                        });
                    } else {
                        self.pause_now("paused", by);
                    }
                }
                Status::NotStarted => self.pause_now("paused before start", by),
                Status::Pausing | Status::Paused => {}
                Status::Finished(_) => return Err(Refusal("the run has finished".into())),
            },
            Verb::Abort { reason } => {
                if finished {
                    return Err(Refusal("the run has finished".into()));
                }
                if self.in_flight().is_some() {
                    self.status = Status::Pausing;
                    self.stop = Some(StopRequest::Abort);
                    self.pause = Some(PauseReason {
                        text: format!("aborting: {reason}"),
                        by: by.into(),
                    });
                } else {
                    self.status = Status::Finished(Final::Aborted);
                    self.stop = None;
                }
            }
            Verb::Rollback { .. } => {
                if self.status == Status::Finished(Final::RolledBack) {
                    return Err(Refusal("the run is already rolled back".into()));
                }
                if let Some(i) = self.blocked_step()
                    && matches!(self.status_of[i], StepStatus::InDoubt { .. })
                {
                    return Err(Refusal(format!(
                        "step {} is in doubt: resolve it first",
                        self.steps[i].id
                    )));
                }
                self.direction = Direction::Rollback;
                // A failed forward step is undone for the part of it that landed, in
                // reverse order with the rest; one none of whose effect landed is left.
                for i in 0..self.status_of.len() {
                    if let StepStatus::Failed { .. } = self.status_of[i] {
                        self.status_of[i] = self.at_rest(i);
                    }
                }
                self.step_mode = false;
                self.pause = None;
                self.status = Status::Running;
                self.settle();
            }
            Verb::Retry => {
                let Some(i) = self.blocked_step() else {
                    return Err(Refusal("no failed step to retry".into()));
                };
                match &self.status_of[i] {
                    // A partial step continues from its checkpoint; an unchecked one has
                    // its postcheck evaluated again.
                    StepStatus::Failed { .. } | StepStatus::UndoFailed { .. } => {
                        self.status_of[i] = self.at_rest(i)
                    }
                    _ => {
                        return Err(Refusal(format!(
                            "step {} is in doubt: resolve it first",
                            self.steps[i].id
                        )));
                    }
                }
                self.status = Status::Running;
                self.pause = None;
                self.settle();
            }
            Verb::Skip { reason } => {
                if reason.trim().is_empty() {
                    return Err(Refusal("skip needs a reason".into()));
                }
                if finished {
                    return Err(Refusal("the run has finished".into()));
                }
                let target = self.blocked_step().or_else(|| match self.next_candidate() {
                    Some(i) if self.in_flight().is_none() => Some(i),
                    _ => None,
                });
                let Some(i) = target else {
                    return Err(Refusal("nothing to skip".into()));
                };
                let undoing = self.direction == Direction::Rollback
                    && !matches!(self.status_of[i], StepStatus::Failed { .. });
                match self.status_of[i] {
                    StepStatus::UndoFailed { .. } | StepStatus::Applied => {
                        self.status_of[i] = StepStatus::NotCompensated;
                        self.compensated.push(i);
                    }
                    // Skipping the undo of a step part of whose effect landed leaves it.
                    _ if undoing && !self.landed[i].is_nothing() => {
                        self.status_of[i] = StepStatus::NotCompensated;
                        self.compensated.push(i);
                    }
                    _ => {
                        self.status_of[i] = StepStatus::Skipped {
                            reason: reason.clone(),
                        }
                    }
                }
                if self.status != Status::NotStarted {
                    self.pause_now(format!("skipped {}", self.steps[i].id), by);
                }
                self.settle();
            }
            Verb::Resolve { applied, reason } => {
                if reason.trim().is_empty() {
                    return Err(Refusal("an in-doubt decision needs a reason".into()));
                }
                let Some((i, undo)) =
                    self.status_of
                        .iter()
                        .enumerate()
                        .find_map(|(i, s)| match s {
                            StepStatus::InDoubt { undo } => Some((i, *undo)),
                            _ => None,
                        })
                else {
                    return Err(Refusal("no step is in doubt".into()));
                };
                self.resolve(i, undo, *applied);
                if !self.is_finished() && self.status != Status::NotStarted {
                    self.pause_now(format!("resolved {}", self.steps[i].id), by);
                }
            }
        }
        Ok(())
    }

    /// The step the next `Next::Apply/Undo` would touch, ignoring status.
    fn next_candidate(&self) -> Option<usize> {
        match self.direction {
            Direction::Forward => self.next_forward(),
            Direction::Rollback => self.next_undo(),
        }
    }

    fn describe(&self, i: usize) -> &'static str {
        match self.status_of[i] {
            StepStatus::Failed { .. } => "failed",
            StepStatus::InDoubt { .. } => "in doubt",
            StepStatus::UndoFailed { .. } => "failed to undo",
            _ => "blocked",
        }
    }

    /// Finishes the run when there is nothing left in its direction.
    fn settle(&mut self) {
        if self.is_finished() || self.in_flight().is_some() || self.blocked_step().is_some() {
            return;
        }
        if self.next_candidate().is_none() && self.status != Status::NotStarted {
            self.status = Status::Finished(match self.direction {
                Direction::Forward => Final::Completed,
                Direction::Rollback => Final::RolledBack,
            });
            self.stop = None;
        }
    }

    /// The executor is about to apply step `i` (its intent is being journaled).
    pub fn begin(&mut self, i: usize, attempt: u32) -> Result<(), Refusal> {
        if self.next() != Next::Apply(i) {
            return Err(Refusal(format!("step {} is not next", self.steps[i].id)));
        }
        self.status_of[i] = StepStatus::Running { attempt };
        self.attempts[i] = self.attempts[i].max(attempt);
        Ok(())
    }

    /// Records that attempt `attempt` of step `i`'s undo was journaled.
    pub fn note_undo_attempt(&mut self, i: usize, attempt: u32) {
        if let Some(a) = self.undo_attempts.get_mut(i) {
            *a = (*a).max(attempt);
        }
    }

    /// The executor is about to undo step `i`.
    pub fn begin_undo(&mut self, i: usize) -> Result<(), Refusal> {
        if self.next() != Next::Undo(i) {
            return Err(Refusal(format!(
                "step {} is not next to undo",
                self.steps[i].id
            )));
        }
        if !self.steps[i].has_undo {
            self.status_of[i] = StepStatus::NotCompensated;
            self.compensated.push(i);
            self.after_step();
            return Err(Refusal(format!(
                "step {} has no undo; left as it is",
                self.steps[i].id
            )));
        }
        self.status_of[i] = StepStatus::Undoing;
        Ok(())
    }

    /// A gate or preflight held the run before step `i`.
    pub fn hold(&mut self, text: impl Into<String>, by: impl Into<String>) {
        if self.in_flight().is_some() {
            // Not a safe point: hold once the in-flight effect finishes.
            if self.status == Status::Running {
                self.status = Status::Pausing;
                self.stop = Some(StopRequest::Pause);
                self.pause = Some(PauseReason {
                    text: text.into(),
                    by: by.into(),
                });
            }
            return;
        }
        if self.status == Status::Running || self.status == Status::Pausing {
            self.pause_now(text, by);
        }
    }

    /// One attempt of the in-flight step failed and it will be tried again; `landed` is
    /// what of its effect was in place when it failed.
    pub fn attempt_failed(&mut self, i: usize, landed: Landed) {
        match self.status_of[i] {
            StepStatus::Running { .. } => {
                self.land(i, landed);
                self.status_of[i] = self.at_rest(i);
            }
            StepStatus::Undoing => self.status_of[i] = self.at_rest(i),
            _ => {}
        }
        if let Some(stop) = self.stop.take() {
            match stop {
                StopRequest::Abort => self.status = Status::Finished(Final::Aborted),
                StopRequest::Pause => self.status = Status::Paused,
            }
        }
    }

    /// The in-flight step (or its undo) stopped at an inner safe point because the run
    /// was asked to stop, with `landed` of its effect in place. Forward, it is pending
    /// again, or partial when some of it landed (applying it continues from its
    /// checkpoint); a rollback undoes what landed first. An undo cut off stays to undo.
    pub fn interrupt(&mut self, i: usize, landed: Landed) {
        match self.status_of[i] {
            StepStatus::Running { .. } => {
                self.land(i, landed);
                self.status_of[i] = self.at_rest(i);
            }
            StepStatus::Undoing => self.status_of[i] = self.at_rest(i),
            _ => return,
        }
        match self.stop.take() {
            Some(StopRequest::Abort) => self.status = Status::Finished(Final::Aborted),
            Some(StopRequest::Pause) => self.status = Status::Paused,
            None => {
                if self.status == Status::Running && self.direction == Direction::Forward {
                    let id = self.steps[i].id.clone();
                    self.pause_now(format!("{id} stopped at a safe point"), "engine");
                }
            }
        }
    }

    /// The in-flight step finished (a failure: with none of its effect in place).
    pub fn finish(&mut self, i: usize, result: Result<(), String>) {
        match result {
            Ok(()) => self.succeed(i),
            Err(error) => self.fail(i, error, Landed::Nothing),
        }
    }

    fn succeed(&mut self, i: usize) {
        match &self.status_of[i] {
            StepStatus::Running { .. } => {
                self.land(i, Landed::Whole);
                self.status_of[i] = StepStatus::Applied;
                self.after_step();
            }
            StepStatus::Undoing => {
                self.status_of[i] = StepStatus::Compensated;
                self.landed[i] = Landed::Nothing;
                self.compensated.push(i);
                self.after_step();
            }
            _ => {}
        }
    }

    /// The in-flight step (or its undo) failed, with `landed` of the step's effect in place.
    pub fn fail(&mut self, i: usize, error: String, landed: Landed) {
        match &self.status_of[i] {
            StepStatus::Running { attempt } => {
                let attempts = *attempt;
                let id = self.steps[i].id.clone();
                self.land(i, landed);
                self.status_of[i] = StepStatus::Failed {
                    error: error.clone(),
                    attempts,
                };
                match (self.stop.clone(), self.steps[i].on_failure) {
                    (Some(StopRequest::Abort), _)
                    | (None, OnFailure::Abort)
                    | (Some(StopRequest::Pause), OnFailure::Abort) => {
                        self.status = Status::Finished(Final::Aborted);
                        self.stop = None;
                    }
                    (_, OnFailure::Rollback) if self.direction == Direction::Forward => {
                        self.status_of[i] = self.at_rest(i);
                        self.direction = Direction::Rollback;
                        self.stop = None;
                        self.status = Status::Running;
                        self.settle();
                    }
                    _ => self.pause_now(format!("step {id} failed: {error}"), "engine"),
                }
            }
            StepStatus::Undoing => {
                let id = self.steps[i].id.clone();
                self.status_of[i] = StepStatus::UndoFailed {
                    error: error.clone(),
                };
                if self.stop == Some(StopRequest::Abort) {
                    self.status = Status::Finished(Final::Aborted);
                    self.stop = None;
                } else {
                    self.pause_now(format!("undo of {id} failed: {error}"), "engine");
                }
            }
            _ => {}
        }
    }

    fn after_step(&mut self) {
        match self.stop.take() {
            Some(StopRequest::Abort) => self.status = Status::Finished(Final::Aborted),
            Some(StopRequest::Pause) => {
                self.status = Status::Paused;
                self.settle();
            }
            None => {
                self.settle();
                if self.step_mode && self.status == Status::Running {
                    self.status = Status::Paused;
                    self.pause = Some(PauseReason {
                        text: "step mode".into(),
                        by: "engine".into(),
                    });
                }
            }
        }
    }

    /// Settles an in-doubt step once it is known whether its effect (or its undo's) happened.
    pub fn resolve(&mut self, i: usize, undo: bool, happened: bool) {
        self.status_of[i] = match (undo, happened) {
            (false, true) => {
                self.land(i, Landed::Whole);
                StepStatus::Applied
            }
            // What landed before (a partial step resumed) is still there.
            (false, false) => self.at_rest(i),
            (true, true) => {
                self.compensated.push(i);
                self.landed[i] = Landed::Nothing;
                StepStatus::Compensated
            }
            (true, false) => self.at_rest(i),
        };
    }

    /// Settles an in-doubt step found cut off after part of its effect landed (`done`):
    /// going on continues it, a rollback undoes that part.
    pub fn resolve_partial(&mut self, i: usize, done: String) {
        self.land(i, Landed::Part(done));
        self.status_of[i] = self.at_rest(i);
    }

    /// After a crash: a step left running is in doubt until its actuator or the operator
    /// says whether the effect happened.
    pub fn mark_in_doubt(&mut self, i: usize) {
        let undo = matches!(self.status_of[i], StepStatus::Undoing);
        self.status_of[i] = StepStatus::InDoubt { undo };
        if !self.is_finished() {
            self.status = Status::Paused;
            if self.pause.is_none() {
                self.pause = Some(PauseReason {
                    text: format!("step {} is in doubt after a crash", self.steps[i].id),
                    by: "engine".into(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
