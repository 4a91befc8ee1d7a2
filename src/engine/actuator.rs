//! What the engine needs from the world it acts on: apply a step, undo it, evaluate its
//! gates and checks, and probe whether an in-doubt effect happened.

use std::future::Future;
use std::sync::{Arc, Mutex};

/// A one-line note on the step in flight, written by its actuator and read by the actor
/// (e.g. "2/4 pods ready on orders-app-5c41").
pub type Progress = Arc<Mutex<Option<String>>>;

/// The result of evaluating checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    Pass,
    /// The condition does not hold; the first reason, gh-ost style.
    Fail(String),
    /// The check could not be evaluated (source down, no data): a human decides.
    Inconclusive(String),
}

/// Figures of a batched step in flight, for the Migration pane.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BatchFigures {
    pub rows_done: u64,
    pub rows_total: u64,
    /// Over this run of the step (since it last started or resumed).
    pub rows_per_sec: f64,
    pub batch_size: u64,
    /// Why it holds by itself right now (lag over the limit…), the first reason.
    pub holding: Option<String>,
}

/// Where a batched step's actuator writes its figures, read by the actor.
pub type Meter = Arc<Mutex<Option<BatchFigures>>>;

/// A question an actuator puts to the responder before a dangerous effect (deleting a pod
/// stuck on a broken revision): what it would do, and the word to type to allow it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Ask {
    pub step: usize,
    pub what: String,
    /// What the responder types to allow it (the pod's name).
    pub word: String,
}

/// What the actuator of the step in flight asks, and what it did that the audit log must
/// hold (read and drained by the actor, which turns notes into engine notes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Asking {
    pub ask: Option<Ask>,
    pub notes: Vec<String>,
}

/// Shared between the actuators and the actor, like `Progress`.
pub type AskCell = Arc<Mutex<Asking>>;

/// How an effect that did not fail ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    Complete,
    /// Stopped at a safe point inside the step (a batch boundary) because the run was
    /// asked to stop; applying it again with the same key continues from there.
    Interrupted(String),
}

/// Set to `true` by the actor while a step is in flight and the run is asked to stop
/// (pause, abort, rollback, detach); steps with inner safe points stop at the next one.
pub type StopSignal = tokio::sync::watch::Sender<bool>;

/// Whether an effect with a given idempotency key happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    Happened,
    NotHappened,
    /// Part of it happened and applying it again continues from its checkpoint (a
    /// batched step cut off mid-run); the text says where it stopped.
    Resumable(String),
    Unknown(String),
}

/// The actuators of one run, indexed by step.
pub trait Actuators: Send {
    /// The plan's gates and the step's preflight checks, before each step.
    fn gates(&mut self, step: usize) -> impl Future<Output = CheckOutcome> + Send;
    /// Carries out the step. The effect must record `key` where `probe` can find it.
    fn apply(
        &mut self,
        step: usize,
        key: &str,
    ) -> impl Future<Output = Result<Ended, String>> + Send;
    /// The step's postcheck, after it applied.
    fn postcheck(&mut self, step: usize) -> impl Future<Output = CheckOutcome> + Send;
    /// Carries out the step's undo.
    fn undo(
        &mut self,
        step: usize,
        key: &str,
    ) -> impl Future<Output = Result<Ended, String>> + Send;
    /// Asks the target whether the effect keyed `key` happened.
    fn probe(&mut self, step: usize, key: &str, undo: bool) -> impl Future<Output = Probe> + Send;
}
