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
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BatchFigures {
    pub rows_done: u64,
    pub rows_total: u64,
    /// Over this run of the step (since it last started or resumed).
    pub rows_per_sec: f64,
    pub batch_size: u64,
    /// Why it holds by itself right now (lag over the limit…), the first reason.
    pub holding: Option<String>,
}

/// `planned` keys per batch times 2^`exponent`, at least 1.
pub fn scale(planned: u64, exponent: i32) -> u64 {
    if exponent >= 0 {
        planned.saturating_mul(1 << exponent.min(20))
    } else {
        (planned >> (-exponent).min(63)).max(1)
    }
}

/// What of a batched step landed, as the run reports it: `n batches applied`.
pub fn batches_landed(n: u64) -> Option<String> {
    match n {
        0 => None,
        1 => Some("1 batch applied".to_string()),
        n => Some(format!("{n} batches applied")),
    }
}

/// Where a batched step's actuator writes its figures, read by the actor.
pub type Meter = Arc<Mutex<Option<BatchFigures>>>;

/// A question an actuator puts to the responder before a dangerous effect (deleting a pod
/// stuck on a broken revision): what it would do, and the word to type to allow it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Stopped at a safe point inside the step (`at`: a batch boundary) because the run
    /// was asked to stop or its target could not go on; applying it again with the same
    /// key continues from there. `landed` says what of the effect is in place by then
    /// (`86 batches applied`), `None` when nothing is.
    Interrupted {
        at: String,
        landed: Option<String>,
    },
    /// A check the step consists of (a `verify` step's) could not be evaluated; the text
    /// names it and why. A human decides; going on evaluates it again.
    Inconclusive(String),
}

impl Ended {
    /// Stopped at `at` with none of the effect in place.
    pub fn stopped(at: impl Into<String>) -> Ended {
        Ended::Interrupted {
            at: at.into(),
            landed: None,
        }
    }

    /// Stopped at `at` with `landed` of the effect in place (`None`: nothing).
    pub fn stopped_after(at: impl Into<String>, landed: Option<String>) -> Ended {
        Ended::Interrupted {
            at: at.into(),
            landed,
        }
    }
}

/// An effect that failed, and what of it had landed when it did: a rollback undoes that
/// part (`None`: nothing landed, the step is left out of a rollback).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub landed: Option<String>,
}

impl Failure {
    /// Failed after `landed` of the effect was in place (`None`: nothing).
    pub fn after(landed: Option<String>, error: impl Into<String>) -> Failure {
        Failure {
            error: error.into(),
            landed,
        }
    }
}

impl From<String> for Failure {
    /// A failure before any of the effect landed.
    fn from(error: String) -> Failure {
        Failure {
            error,
            landed: None,
        }
    }
}

impl From<&str> for Failure {
    fn from(error: &str) -> Failure {
        Failure::from(error.to_string())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)
    }
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
    /// Carries out the step. The effect must record `key` where `probe` can find it. A
    /// failure says what of the effect had landed.
    fn apply(
        &mut self,
        step: usize,
        key: &str,
    ) -> impl Future<Output = Result<Ended, Failure>> + Send;
    /// The step's postcheck, after it applied.
    fn postcheck(&mut self, step: usize) -> impl Future<Output = CheckOutcome> + Send;
    /// Carries out the step's undo.
    fn undo(
        &mut self,
        step: usize,
        key: &str,
    ) -> impl Future<Output = Result<Ended, Failure>> + Send;
    /// Asks the target whether the effect keyed `key` happened.
    fn probe(&mut self, step: usize, key: &str, undo: bool) -> impl Future<Output = Probe> + Send;
}

#[cfg(test)]
mod tests {
    #[test]
    fn scale_doubles_and_halves_and_never_reaches_zero() {
        assert_eq!(super::scale(5000, 0), 5000);
        assert_eq!(super::scale(5000, 1), 10000);
        assert_eq!(super::scale(5000, -1), 2500);
        assert_eq!(super::scale(5000, -20), 1);
        assert_eq!(super::scale(u64::MAX, 4), u64::MAX);
    }
}
