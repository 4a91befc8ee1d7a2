//! The backends a run acts through: real servers (`backends::RealBackends`) or the drill
//! world (`sim::SimWorld`). A run's type says which, so a drill holds no real client.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::{AskCell, CheckOutcome, Ended, Failure, Meter, Probe, Progress};
use crate::plan::{Check, Plan, Step, StepKind, TargetKind};

/// How the console steers the step in flight.
pub struct Steering {
    /// Raised by the actor when the run is asked to stop (see `engine::StopSignal`).
    pub stop: watch::Receiver<bool>,
    /// The batch size of `sql_batches` steps as a power of two times the plan's (0: as
    /// planned), from their next batch on.
    pub batch_scale: watch::Receiver<i32>,
    /// Confirmations of manual steps (the step's index), from the console or headless input.
    pub confirms: mpsc::Receiver<usize>,
    /// Confirm manual steps without asking (headless `--yes`).
    pub auto_confirm: bool,
    /// Where batched steps write their figures for the Migration pane.
    pub meter: Meter,
    /// Answers to an actuator's ask (step index, the word typed), from the console or
    /// headless input. Never given by `auto_confirm`: `--yes` deletes no pod.
    pub answers: mpsc::Receiver<(usize, String)>,
    /// Where actuators raise asks and leave notes for the audit log.
    pub asking: AskCell,
}

/// One effect to carry out or probe: a step's own, or its undo's.
pub struct Effect<'a> {
    pub step: &'a Step,
    /// The step's index in the plan.
    pub index: usize,
    pub kind: &'a StepKind,
    /// The target the effect acts on (the undo's own, else the step's).
    pub target: Option<&'a str>,
    /// The effect's idempotency key.
    pub key: &'a str,
}

/// What acts on a run's targets: every step kind that belongs to a backend
/// (`StepKind::backend`) and every check, by its target's kind.
pub trait Backends: Send {
    /// Carries out `e`, steered by the console (stop, batch size, asks).
    fn act(
        &mut self,
        e: &Effect<'_>,
        steering: &mut Steering,
        progress: &Progress,
    ) -> impl Future<Output = Result<Ended, Failure>> + Send;
    /// `undo = "auto"`: what the step overwrote, written back.
    fn undo_auto(
        &mut self,
        step: &Step,
        key: &str,
    ) -> impl Future<Output = Result<Ended, Failure>> + Send;
    /// Whether effect `e` happened.
    fn probe(&mut self, e: &Effect<'_>) -> impl Future<Output = Probe> + Send;
    /// Whether the automatic undo keyed `key` of `step` happened.
    fn probe_auto_undo(&mut self, step: &Step, key: &str) -> impl Future<Output = Probe> + Send;
    /// Evaluates `check`, whose target is of `kind`.
    fn evaluate(
        &mut self,
        check: &Check,
        kind: TargetKind,
    ) -> impl Future<Output = CheckOutcome> + Send;
    /// How often a `wait` step on a target of `kind` evaluates its check again.
    fn poll(&self, kind: TargetKind) -> Duration;
    /// Captures what `verify`-style checks compare with, before anything runs: JSON for
    /// the journal, and the targets it could not be captured from.
    fn capture_baseline(
        &mut self,
        plan: &Plan,
        checks: &[Check],
    ) -> impl Future<Output = (serde_json::Value, Vec<String>)> + Send;
    /// Restores the baseline journaled when the run started.
    fn restore_baseline(&mut self, data: &serde_json::Value);
    /// Restores a `patch` pre-image journaled in an earlier life of the run.
    fn restore_pre_image(&mut self, key: &str, data: serde_json::Value);
}
