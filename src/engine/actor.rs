//! The actor that owns one run: commands in, events out. Every transition is journaled
//! (and committed) before its effect; if the journal cannot be written, nothing is applied.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::actuator::{
    Actuators, Ask, AskCell, BatchFigures, CheckOutcome, Ended, Failure, Meter, Probe, Progress,
    StopSignal,
};
use super::journal::{Journal, Record, effect_key};
use super::state::{Direction, Landed, Next, PauseReason, RunState, Status, StepStatus, Verb};
use crate::sources::Severity;
use crate::time::Timestamp;
use outcome::Outcome;

/// How a step is executed: timeout, retries, backoff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecPolicy {
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub backoff: Duration,
}

impl Default for ExecPolicy {
    fn default() -> Self {
        ExecPolicy {
            timeout: None,
            retries: 0,
            backoff: Duration::from_secs(1),
        }
    }
}

/// Into the actor.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Verb {
        verb: Verb,
        by: String,
    },
    /// Stop driving at the next safe point (terminal lost, signal); the run stays resumable.
    Detach {
        reason: String,
    },
    /// No more input will come (headless stdin closed): stop driving as soon as the run
    /// would wait for a human. Ordered after the commands sent before it.
    DetachWhenIdle {
        reason: String,
    },
}

/// One step as the Plan pane shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub id: String,
    pub status: StepStatus,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// Where the step stopped when it was interrupted inside (e.g. `batch 72`); it
    /// continues from there. Cleared when it finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// What of its effect is in place: shown on a failed step, undone by a rollback.
    #[serde(default, skip_serializing_if = "Landed::is_nothing")]
    pub landed: Landed,
}

/// Everything the screen and the headless printer need of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub run_id: String,
    pub status: Status,
    pub direction: Direction,
    pub step_mode: bool,
    pub pause: Option<PauseReason>,
    /// A gate holding the run by itself (clears when the gate passes).
    pub held: Option<String>,
    /// Progress of the step in flight, from its actuator.
    pub progress: Option<String>,
    /// Figures of the batched step in flight, as `(step id, figures)`.
    pub batch: Option<(String, BatchFigures)>,
    pub steps: Vec<StepView>,
    /// What the step in flight asks the responder to allow (a typed confirmation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<Ask>,
}

/// Out of the actor.
// Views are the common event; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EngineEvent {
    View(RunView),
    Note {
        at: Timestamp,
        severity: Severity,
        text: String,
    },
    /// A verb that did not apply, with why.
    Refused {
        verb: String,
        reason: String,
    },
    /// The actor stopped driving the run.
    Exited {
        status: Status,
    },
}

/// The actor. `A` acts on the world, `J` makes transitions durable.
pub struct Actor<A: Actuators, J: Journal> {
    act: A,
    core: Core<J>,
}

struct Core<J: Journal> {
    run_id: String,
    state: RunState,
    policies: Vec<ExecPolicy>,
    journal: J,
    cmds: mpsc::Receiver<Command>,
    events: mpsc::Sender<EngineEvent>,
    times: Vec<(Option<Timestamp>, Option<Timestamp>)>,
    stopped_at: Vec<Option<String>>,
    held: Option<String>,
    progress: Option<String>,
    progress_cell: Option<Progress>,
    meter: Option<Meter>,
    batch: Option<(String, BatchFigures)>,
    asking: Option<AskCell>,
    ask: Option<Ask>,
    /// Raised while a step is in flight and the run is asked to stop.
    stop_cell: Option<StopSignal>,
    detach: Option<String>,
    /// Leave when the run finishes (headless); a console keeps the actor for a rollback.
    exit_on_finish: bool,
    /// Whether the run was unfinished at some point of this actor's life: a finished run
    /// that is resumed (to roll it back) is not left at once.
    saw_unfinished: bool,
    detach_when_idle: Option<String>,
}

/// How often a held gate is checked again, and progress is refreshed.
const RECHECK: Duration = Duration::from_secs(1);

impl<A: Actuators, J: Journal + Send> Actor<A, J> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        run_id: String,
        state: RunState,
        policies: Vec<ExecPolicy>,
        act: A,
        journal: J,
        cmds: mpsc::Receiver<Command>,
        events: mpsc::Sender<EngineEvent>,
        exit_on_finish: bool,
    ) -> Self {
        let n = state.steps.len();
        Actor {
            act,
            core: Core {
                run_id,
                state,
                policies,
                journal,
                cmds,
                events,
                times: vec![(None, None); n],
                stopped_at: vec![None; n],
                held: None,
                progress: None,
                progress_cell: None,
                meter: None,
                batch: None,
                asking: None,
                ask: None,
                stop_cell: None,
                detach: None,
                exit_on_finish,
                saw_unfinished: false,
                detach_when_idle: None,
            },
        }
    }

    /// Where the actuators write progress notes for the step in flight.
    pub fn with_progress(mut self, cell: Progress) -> Self {
        self.core.progress_cell = Some(cell);
        self
    }

    /// Where steps were stopped inside in an earlier life of the run (from its journal).
    pub fn with_stopped_at(mut self, stopped: Vec<Option<String>>) -> Self {
        if stopped.len() == self.core.stopped_at.len() {
            self.core.stopped_at = stopped;
        }
        self
    }

    /// Where batched steps write their figures.
    pub fn with_meter(mut self, meter: Meter) -> Self {
        self.core.meter = Some(meter);
        self
    }

    /// Where the actuators raise asks and leave notes for the audit log.
    pub fn with_asking(mut self, cell: AskCell) -> Self {
        self.core.asking = Some(cell);
        self
    }

    /// Where the actor raises a stop request for steps with inner safe points.
    pub fn with_stop_signal(mut self, cell: StopSignal) -> Self {
        self.core.stop_cell = Some(cell);
        self
    }

    /// Settles a step left in flight by a crash: asks its actuator, journals the answer,
    /// or leaves it in doubt for the operator.
    pub async fn resolve_in_doubt(&mut self, step: usize, undo: bool, key: &str) {
        let c = &mut self.core;
        c.state.mark_in_doubt(step);
        let id = c.state.steps[step].id.clone();
        match self.act.probe(step, key, undo).await {
            Probe::Unknown(why) => {
                c.note(
                    Severity::Crit,
                    format!("step {id} is in doubt ({why}); decide whether it happened"),
                )
                .await;
            }
            answer => {
                let happened = answer == Probe::Happened;
                let partial = match &answer {
                    Probe::Resumable(at) => Some(at.clone()),
                    _ => None,
                };
                let partial = partial.filter(|_| !undo);
                let rec = Record::Resolved {
                    step,
                    undo,
                    happened,
                    by: "probe".into(),
                    partial: partial.as_ref().map(|at| format!("cut off at {at}")),
                };
                if c.journal.append(&rec).await.is_ok() {
                    match &partial {
                        Some(at) => c.state.resolve_partial(step, format!("cut off at {at}")),
                        None => c.state.resolve(step, undo, happened),
                    }
                    let (was, said) = match (&partial, happened) {
                        (Some(at), _) => (
                            format!("was cut off at {at} and continues from its checkpoint"),
                            format!("was cut off at {at}"),
                        ),
                        (None, true) => ("had happened".to_string(), "happened".to_string()),
                        (None, false) => (
                            "had not happened and will run again".to_string(),
                            "did not happen".to_string(),
                        ),
                    };
                    c.state.pause = Some(PauseReason {
                        text: format!("resumed after a crash; {id} {was} (its target says so)"),
                        by: "engine".into(),
                    });
                    let what = if undo { "undo of " } else { "" };
                    c.note(
                        Severity::Warn,
                        format!("{what}{id} was in flight at the crash; its target says it {said}"),
                    )
                    .await;
                }
            }
        }
        c.emit_view().await;
    }

    /// Drives the run until it finishes (when asked to), the command channel closes, or a
    /// detach reaches a safe point. Returns the final state.
    pub async fn run(mut self) -> (RunState, J) {
        self.core.emit_view().await;
        loop {
            if let Some(reason) = self.core.detach.clone()
                && self.core.state.in_flight().is_none()
            {
                let _ = self
                    .core
                    .journal
                    .append(&Record::Detached {
                        reason: reason.clone(),
                    })
                    .await;
                self.core
                    .state
                    .hold(format!("detached: {reason}"), "engine");
                self.core.emit_view().await;
                break;
            }
            if !self.core.state.is_finished() {
                self.core.saw_unfinished = true;
            }
            match self.core.state.next() {
                Next::Wait => {
                    if self.core.state.is_finished()
                        && self.core.exit_on_finish
                        && self.core.saw_unfinished
                    {
                        break;
                    }
                    if let Some(reason) = self.core.detach_when_idle.take() {
                        self.core.detach = Some(reason);
                        continue;
                    }
                    match self.core.cmds.recv().await {
                        Some(cmd) => self.core.handle(cmd).await,
                        None => self.core.detach = Some("console closed".into()),
                    }
                }
                Next::Apply(i) => self.apply(i, false).await,
                Next::Undo(i) => self.apply(i, true).await,
            }
        }
        let status = self.core.state.status;
        let _ = self.core.events.send(EngineEvent::Exited { status }).await;
        (self.core.state, self.core.journal)
    }

    async fn apply(&mut self, i: usize, undo: bool) {
        let id = self.core.state.steps[i].id.clone();
        if !undo && !self.wait_for_gates(i).await {
            return;
        }
        if undo && !self.core.state.steps[i].has_undo {
            if self
                .core
                .journal
                .append(&Record::NoUndo { step: i })
                .await
                .is_err()
            {
                return self.core.journal_down().await;
            }
            let _ = self.core.state.begin_undo(i);
            self.core
                .note(Severity::Warn, format!("{id} has no undo; left as it is"))
                .await;
            self.core.emit_view().await;
            return;
        }
        let policy = self.core.policies.get(i).cloned().unwrap_or_default();
        let key = effect_key(&self.core.run_id, &id, undo);
        // Attempts are numbered across lives of the run: an intent journaled before a crash
        // keeps its number, so the next try never collides with it.
        let mut attempt = if undo {
            self.core.state.undo_attempts[i] + 1
        } else {
            self.core.state.attempts[i] + 1
        };
        loop {
            let intent = if undo {
                Record::UndoIntent {
                    step: i,
                    attempt,
                    key: key.clone(),
                }
            } else {
                Record::Intent {
                    step: i,
                    attempt,
                    key: key.clone(),
                }
            };
            if self.core.journal.append(&intent).await.is_err() {
                return self.core.journal_down().await;
            }
            let begun = if undo {
                self.core.state.note_undo_attempt(i, attempt);
                self.core.state.begin_undo(i)
            } else {
                self.core.state.begin(i, attempt)
            };
            if begun.is_err() {
                return;
            }
            self.core.times[i] = (Some(Timestamp::now()), None);
            let verb = if undo { "undo of" } else { "step" };
            self.core
                .note(
                    Severity::Info,
                    format!("{verb} {id} started (attempt {attempt})"),
                )
                .await;
            self.core.emit_view().await;

            let outcome = self.outcome(i, undo, &key, policy.timeout).await;
            self.core.times[i].1 = Some(Timestamp::now());
            self.core.progress = None;
            self.core.batch = None;
            match outcome {
                Outcome::Stopped { at, landed, hold } => {
                    // Nobody asked it to stop: its target could not go on (unreachable), or
                    // a check could not be evaluated. A human decides, as for a gate.
                    let asked = self.core.stop_requested()
                        || (!undo && self.core.state.direction == Direction::Rollback);
                    let hold =
                        hold.unwrap_or_else(|| format!("inconclusive: {id} stopped at {at}"));
                    if !asked {
                        let held = Record::Held {
                            reason: hold.clone(),
                            by: "engine".into(),
                        };
                        if self.core.journal.append(&held).await.is_err() {
                            self.core.state.mark_in_doubt(i);
                            return self.core.journal_down().await;
                        }
                        self.core.state.hold(hold.clone(), "engine");
                    }
                    let landed = if undo { Landed::Nothing } else { landed };
                    let rec = Record::Interrupted {
                        step: i,
                        undo,
                        at: at.clone(),
                        landed: Some(landed.clone()),
                    };
                    if self.core.journal.append(&rec).await.is_err() {
                        self.core.state.mark_in_doubt(i);
                        return self.core.journal_down().await;
                    }
                    self.core.state.interrupt(i, landed);
                    self.core.stopped_at[i] = Some(at.clone());
                    let what = if undo { "undo of " } else { "" };
                    let text = if hold.starts_with("inconclusive: ") && !asked {
                        format!("{what}{id} stopped at {at}: {hold}; r goes on from there")
                    } else {
                        format!("{what}{id} stopped at {at}; it continues from there")
                    };
                    self.core.note(Severity::Warn, text).await;
                    self.core.after_transition().await;
                    return;
                }
                Outcome::Done => {
                    let rec = if undo {
                        Record::Compensated { step: i }
                    } else {
                        Record::Applied { step: i }
                    };
                    // The effect happened; if this record is lost, a resume finds the step in
                    // doubt and its probe settles it.
                    if self.core.journal.append(&rec).await.is_err() {
                        self.core.state.mark_in_doubt(i);
                        return self.core.journal_down().await;
                    }
                    self.core.state.finish(i, Ok(()));
                    self.core.stopped_at[i] = None;
                    let took = self.core.elapsed(i);
                    let what = if undo { "undone" } else { "applied" };
                    self.core
                        .note(Severity::Info, format!("{id} {what} in {took}"))
                        .await;
                    self.core.after_transition().await;
                    return;
                }
                Outcome::Failed { error, landed }
                    if attempt <= policy.retries && !self.core.stop_requested() =>
                {
                    let landed = if undo { Landed::Nothing } else { landed };
                    if self
                        .core
                        .journal
                        .append(&Record::AttemptFailed {
                            step: i,
                            error: error.clone(),
                            landed: landed.clone(),
                        })
                        .await
                        .is_err()
                    {
                        self.core.state.mark_in_doubt(i);
                        return self.core.journal_down().await;
                    }
                    self.core.state.attempt_failed(i, landed);
                    let wait = policy.backoff.saturating_mul(1 << (attempt - 1).min(16));
                    self.core
                        .note(
                            Severity::Warn,
                            format!(
                                "{id} attempt {attempt} failed: {error}; retrying in {}",
                                crate::units::fmt_duration(wait)
                            ),
                        )
                        .await;
                    self.core.emit_view().await;
                    if !self.core.sleep_handling_commands(wait).await
                        || self.core.state.next()
                            != (if undo { Next::Undo(i) } else { Next::Apply(i) })
                    {
                        return;
                    }
                    attempt += 1;
                }
                Outcome::Failed { error, landed } => {
                    let rec = if undo {
                        Record::UndoFailed {
                            step: i,
                            error: error.clone(),
                        }
                    } else {
                        Record::Failed {
                            step: i,
                            error: error.clone(),
                            landed: landed.clone(),
                        }
                    };
                    if self.core.journal.append(&rec).await.is_err() {
                        self.core.state.mark_in_doubt(i);
                        return self.core.journal_down().await;
                    }
                    let what = if undo { "undo of " } else { "" };
                    let part = match (&landed, undo) {
                        (Landed::Part(done), false) => format!(" after {done}"),
                        (Landed::Unchecked(_), false) => " after it applied".to_string(),
                        _ => String::new(),
                    };
                    if undo {
                        self.core.state.finish(i, Err(error.clone()));
                    } else {
                        self.core.state.fail(i, error.clone(), landed);
                    }
                    self.core
                        .note(Severity::Crit, format!("{what}{id} failed{part}: {error}"))
                        .await;
                    self.core.after_transition().await;
                    return;
                }
            }
        }
    }

    /// Runs the effect with its timeout, handling commands (pause, abort…) while it is in
    /// flight; they take effect at the next safe point.
    async fn effect(
        &mut self,
        i: usize,
        undo: bool,
        key: &str,
        timeout: Option<Duration>,
    ) -> Result<Ended, Failure> {
        let Actor { act, core } = self;
        if let Some(cell) = &core.stop_cell {
            cell.send_replace(false);
        }
        if let Some(m) = &core.meter
            && let Ok(mut m) = m.lock()
        {
            *m = None;
        }
        let step_id = core.state.steps[i].id.clone();
        let limit = timeout.unwrap_or(Duration::from_secs(365 * 24 * 3600));
        let ran = {
            let fut = async {
                if undo {
                    act.undo(i, key).await
                } else {
                    act.apply(i, key).await
                }
            };
            let fut = tokio::time::timeout(limit, fut);
            tokio::pin!(fut);
            let mut tick = tokio::time::interval(RECHECK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    r = &mut fut => {
                        core.take_asks().await;
                        break r;
                    }
                    cmd = core.cmds.recv(), if core.detach.is_none() => {
                        match cmd {
                            Some(c) => core.handle(c).await,
                            None => core.detach = Some("console closed".into()),
                        }
                        let rollback = !undo && core.state.direction == Direction::Rollback;
                        if (core.stop_requested() || rollback)
                            && let Some(cell) = &core.stop_cell
                        {
                            cell.send_replace(true);
                        }
                    }
                    _ = tick.tick() => {
                        if let Some(cell) = &core.progress_cell {
                            core.progress = cell.lock().ok().and_then(|p| p.clone());
                        }
                        core.take_asks().await;
                        if let Some(m) = &core.meter {
                            core.batch = m
                                .lock()
                                .ok()
                                .and_then(|m| m.clone())
                                .map(|f| (step_id.clone(), f));
                        }
                        core.emit_view().await
                    }
                }
            }
        };
        match ran {
            Ok(r) => r,
            Err(_) => {
                // Cut off by its timeout: its target says what of it landed by then.
                let landed = match act.probe(i, key, undo).await {
                    Probe::Happened => Some("applied, then timed out".to_string()),
                    Probe::Resumable(at) => Some(format!("cut off at {at}")),
                    Probe::NotHappened | Probe::Unknown(_) => None,
                };
                let error = format!("timed out after {}", crate::units::fmt_duration(limit));
                Err(Failure::after(landed, error))
            }
        }
    }

    /// Checks gates until they pass. A failing gate holds the run by itself and is checked
    /// again; an inconclusive one pauses for a human. Returns whether to go on with step `i`.
    async fn wait_for_gates(&mut self, i: usize) -> bool {
        loop {
            match self.act.gates(i).await {
                CheckOutcome::Pass => {
                    if self.core.held.take().is_some() {
                        self.core
                            .note(Severity::Info, "gates pass again; continuing".to_string())
                            .await;
                        self.core.emit_view().await;
                    }
                    return true;
                }
                CheckOutcome::Fail(reason) => {
                    if self.core.held.as_deref() != Some(reason.as_str()) {
                        self.core.held = Some(reason.clone());
                        self.core
                            .note(Severity::Warn, format!("held: {reason}"))
                            .await;
                        self.core.emit_view().await;
                    }
                    if !self.core.sleep_handling_commands(RECHECK).await
                        || self.core.state.next() != Next::Apply(i)
                    {
                        self.core.held = None;
                        self.core.emit_view().await;
                        return false;
                    }
                }
                CheckOutcome::Inconclusive(reason) => {
                    let text = format!("inconclusive: {reason}");
                    if self
                        .core
                        .journal
                        .append(&Record::Held {
                            reason: text.clone(),
                            by: "engine".into(),
                        })
                        .await
                        .is_err()
                    {
                        self.core.journal_down().await;
                        return false;
                    }
                    self.core.held = None;
                    self.core.state.hold(text.clone(), "engine");
                    self.core
                        .note(Severity::Crit, format!("paused: {text}"))
                        .await;
                    self.core.emit_view().await;
                    return false;
                }
            }
        }
    }
}

impl<J: Journal + Send> Core<J> {
    fn stop_requested(&self) -> bool {
        self.state.status == Status::Pausing || self.detach.is_some()
    }

    fn elapsed(&self, i: usize) -> String {
        match self.times[i] {
            (Some(a), Some(b)) => crate::units::fmt_duration(a.age_at(b)),
            _ => "?".into(),
        }
    }

    async fn note(&self, severity: Severity, text: String) {
        let _ = self
            .events
            .send(EngineEvent::Note {
                at: Timestamp::now(),
                severity,
                text,
            })
            .await;
    }

    async fn emit_view(&self) {
        let steps = self
            .state
            .steps
            .iter()
            .zip(&self.state.status_of)
            .zip(&self.times)
            .zip(&self.stopped_at)
            .zip(&self.state.landed)
            .map(|((((s, st), (a, b)), stopped), landed)| StepView {
                id: s.id.clone(),
                status: st.clone(),
                started_at: *a,
                finished_at: *b,
                stopped_at: stopped.clone(),
                landed: landed.clone(),
            })
            .collect();
        let view = RunView {
            run_id: self.run_id.clone(),
            status: self.state.status,
            direction: self.state.direction,
            step_mode: self.state.step_mode,
            pause: self.state.pause.clone(),
            held: self.held.clone(),
            progress: self.progress.clone(),
            batch: self.batch.clone(),
            steps,
            ask: self.ask.clone(),
        };
        let _ = self.events.send(EngineEvent::View(view)).await;
    }

    /// Reads the ask of the step in flight and passes its notes on (they are audited);
    /// after the effect, the ask is gone with it.
    async fn take_asks(&mut self) {
        let Some(cell) = &self.asking else { return };
        let (ask, notes) = match cell.lock() {
            Ok(mut a) => (a.ask.clone(), std::mem::take(&mut a.notes)),
            Err(_) => (None, Vec::new()),
        };
        self.ask = ask;
        for n in notes {
            self.note(Severity::Warn, n).await;
        }
    }

    /// The journal could not be written: fail closed, nothing more is applied.
    async fn journal_down(&mut self) {
        tracing::error!(run = %self.run_id, "journal write failed; run paused (fail closed)");
        self.state.hold(
            "journal unavailable: nothing is applied until it is back",
            "engine",
        );
        self.note(
            Severity::Crit,
            "journal write failed; the run is paused (fail closed)".into(),
        )
        .await;
        self.emit_view().await;
    }

    async fn after_transition(&mut self) {
        match self.state.status {
            Status::Finished(f) => {
                self.note(Severity::Info, format!("run finished: {}", f.word()))
                    .await
            }
            Status::Paused => {
                if let Some(p) = &self.state.pause {
                    self.note(Severity::Warn, format!("paused: {} (by {})", p.text, p.by))
                        .await;
                }
            }
            _ => {}
        }
        self.emit_view().await;
    }

    /// Waits `d`, handling commands meanwhile. Returns false if the run should stop going on.
    async fn sleep_handling_commands(&mut self, d: Duration) -> bool {
        let until = tokio::time::Instant::now() + d;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return self.state.status == Status::Running && self.detach.is_none(),
                cmd = self.cmds.recv() => match cmd {
                    Some(c) => {
                        self.handle(c).await;
                        if self.state.status != Status::Running || self.detach.is_some() {
                            return false;
                        }
                    }
                    None => {
                        self.detach = Some("console closed".into());
                        return false;
                    }
                },
            }
        }
    }

    async fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Detach { reason } => {
                self.note(
                    Severity::Warn,
                    format!("detaching: {reason}; the run pauses and can be resumed"),
                )
                .await;
                if self.state.status == Status::Running && self.state.in_flight().is_some() {
                    self.state.hold(format!("detached: {reason}"), "engine");
                }
                self.detach = Some(reason);
            }
            Command::Verb { verb, by } => self.verb(verb, by).await,
            Command::DetachWhenIdle { reason } => self.detach_when_idle = Some(reason),
        }
    }

    async fn verb(&mut self, verb: Verb, by: String) {
        if let Verb::Resolve { applied, reason } = &verb {
            let found = self
                .state
                .status_of
                .iter()
                .enumerate()
                .find_map(|(i, s)| match s {
                    StepStatus::InDoubt { undo } => Some((i, *undo)),
                    _ => None,
                });
            let Some((i, undo)) = found else {
                return self.refuse(&verb, "no step is in doubt".into()).await;
            };
            if reason.trim().is_empty() {
                return self
                    .refuse(&verb, "an in-doubt decision needs a reason".into())
                    .await;
            }
            let rec = Record::Resolved {
                step: i,
                undo,
                happened: *applied,
                by: by.clone(),
                partial: None,
            };
            if self.journal.append(&rec).await.is_err() {
                return self.journal_down().await;
            }
            let _ = self.state.apply_verb(&verb, &by);
            self.note(
                Severity::Warn,
                format!(
                    "{by} decided {} {}: {reason}",
                    self.state.steps[i].id,
                    if *applied {
                        "happened"
                    } else {
                        "did not happen"
                    }
                ),
            )
            .await;
            return self.emit_view().await;
        }
        // Try on a copy first, so a refused verb is not journaled.
        let mut trial = self.state.clone();
        if let Err(refusal) = trial.apply_verb(&verb, &by) {
            return self.refuse(&verb, refusal.0).await;
        }
        if self
            .journal
            .append(&Record::Verb {
                verb: verb.clone(),
                by: by.clone(),
            })
            .await
            .is_err()
        {
            return self
                .refuse(
                    &verb,
                    "the journal cannot be written; run control is refused (fail closed)".into(),
                )
                .await;
        }
        self.state = trial;
        if !matches!(verb, Verb::Run | Verb::Step) {
            self.held = None;
        }
        let text = match &verb {
            Verb::Abort { reason } | Verb::Rollback { reason } | Verb::Skip { reason } => {
                format!("{} by {by}: {reason}", verb.name())
            }
            _ => format!("{} by {by}", verb.name()),
        };
        self.note(Severity::Info, text).await;
        self.after_transition().await;
    }

    async fn refuse(&mut self, verb: &Verb, reason: String) {
        tracing::info!(run = %self.run_id, verb = verb.name(), %reason, "verb refused");
        let _ = self
            .events
            .send(EngineEvent::Refused {
                verb: verb.name().into(),
                reason,
            })
            .await;
    }
}

mod outcome;
#[cfg(test)]
mod tests;
