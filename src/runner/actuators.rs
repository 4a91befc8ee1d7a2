//! The actuators of one run: manual, wait and verify steps, gates and checks, carried out
//! here on any target; every other step goes to the run's backends (`Backends`).

use std::sync::Arc;
use std::time::Duration;

use crate::engine::{Actuators, Backends, Effect, Steering};
use crate::engine::{CheckOutcome, Ended, Failure, Probe, Progress};
use crate::plan::{Check, Plan, Step, StepKind, TargetKind, Undo};

pub struct RunActuators<B: Backends> {
    plan: Arc<Plan>,
    backends: B,
    steering: Steering,
    progress: Progress,
}

impl<B: Backends> RunActuators<B> {
    pub fn new(plan: Arc<Plan>, backends: B, steering: Steering, progress: Progress) -> Self {
        RunActuators {
            plan,
            backends,
            steering,
            progress,
        }
    }

    /// The backends the run acts through.
    pub fn backends(&self) -> &B {
        &self.backends
    }

    /// Every check of the plan: gates, preflights, postchecks, waits and verifies.
    fn all_checks(&self) -> Vec<Check> {
        let mut checks: Vec<Check> = self.plan.gates.iter().map(|g| g.check.clone()).collect();
        for s in &self.plan.steps {
            checks.extend(s.preflight.iter().cloned());
            checks.extend(s.postcheck.iter().cloned());
            match &s.kind {
                StepKind::Wait { check } => checks.push(check.clone()),
                StepKind::Verify { checks: v } => checks.extend(v.iter().cloned()),
                _ => {}
            }
        }
        checks
    }

    /// Captures what `verify`-style checks compare with, as JSON for the journal, and the
    /// targets it could not be captured from.
    pub async fn capture_baseline(&mut self) -> (serde_json::Value, Vec<String>) {
        let checks = self.all_checks();
        let plan = self.plan.clone();
        self.backends.capture_baseline(&plan, &checks).await
    }

    /// Restores the baseline journaled when the run started.
    pub fn restore_baseline(&mut self, data: &serde_json::Value) {
        self.backends.restore_baseline(data);
    }

    /// Restores a `patch` pre-image journaled in an earlier life of the run.
    pub fn restore_pre_image(&mut self, key: &str, data: serde_json::Value) {
        self.backends.restore_pre_image(key, data);
    }

    fn set_progress(&self, text: Option<String>) {
        if let Ok(mut p) = self.progress.lock() {
            *p = text;
        }
    }

    fn stop_requested(&self) -> bool {
        *self.steering.stop.borrow()
    }

    fn target_kind(&self, name: &str) -> Option<TargetKind> {
        self.plan.targets.get(name).map(|t| t.kind)
    }

    /// Evaluates one check on its target.
    async fn evaluate(&mut self, check: &Check) -> CheckOutcome {
        match self.target_kind(&check.target) {
            Some(kind) => self.backends.evaluate(check, kind).await,
            None => CheckOutcome::Inconclusive(format!("no target {}", check.target)),
        }
    }

    /// The first check of `checks` that does not pass, named; each evaluated once.
    async fn first_not_passing(&mut self, checks: Vec<(String, Check)>) -> CheckOutcome {
        for (name, check) in checks {
            match self.evaluate(&check).await {
                CheckOutcome::Pass => {}
                CheckOutcome::Fail(why) => return CheckOutcome::Fail(format!("{name}{why}")),
                // Which check could not be evaluated, whoever asked.
                CheckOutcome::Inconclusive(why) if name.is_empty() => {
                    let (kind, target) = (check.kind.name(), &check.target);
                    return CheckOutcome::Inconclusive(format!("{kind} on {target}: {why}"));
                }
                CheckOutcome::Inconclusive(why) => {
                    return CheckOutcome::Inconclusive(format!("{name}{why}"));
                }
            }
        }
        CheckOutcome::Pass
    }

    fn poll_for(&self, check: &Check) -> Duration {
        match self.target_kind(&check.target) {
            Some(kind) => self.backends.poll(kind),
            None => Duration::from_secs(1),
        }
    }

    /// Sleeps `d` or until a stop is requested; returns whether a stop was requested.
    async fn sleep_or_stop(&mut self, d: Duration) -> bool {
        let stop = &mut self.steering.stop;
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
        self.stop_requested()
    }

    async fn run_kind(
        &mut self,
        step: &Step,
        index: usize,
        kind: &StepKind,
        target: Option<&str>,
        key: &str,
    ) -> Result<Ended, Failure> {
        match kind {
            StepKind::Manual { instruction } => {
                if self.steering.auto_confirm {
                    return Ok(Ended::Complete);
                }
                self.set_progress(Some(format!("waiting for confirmation: {instruction}")));
                loop {
                    let stop = &mut self.steering.stop;
                    tokio::select! {
                        c = self.steering.confirms.recv() => match c {
                            Some(i) if i == index => return Ok(Ended::Complete),
                            Some(_) => {}
                            None => return Err("no one can confirm the manual step".into()),
                        },
                        _ = stop.wait_for(|s| *s) => {
                            return Ok(Ended::stopped("the confirmation"));
                        }
                    }
                }
            }
            StepKind::Wait { check } => loop {
                match self.evaluate(check).await {
                    CheckOutcome::Pass => return Ok(Ended::Complete),
                    CheckOutcome::Fail(why) | CheckOutcome::Inconclusive(why) => {
                        self.set_progress(Some(format!("waiting: {why}")));
                        if self.sleep_or_stop(self.poll_for(check)).await {
                            return Ok(Ended::stopped(format!("waiting ({why})")));
                        }
                    }
                }
            },
            StepKind::Verify { checks } => {
                let named = checks.iter().map(|c| (String::new(), c.clone())).collect();
                match self.first_not_passing(named).await {
                    CheckOutcome::Pass => Ok(Ended::Complete),
                    CheckOutcome::Fail(why) => Err(why.into()),
                    // Not a failure: a human decides (the run pauses), going on checks again.
                    CheckOutcome::Inconclusive(why) => Ok(Ended::Inconclusive(why)),
                }
            }
            _ => {
                let e = Effect {
                    step,
                    index,
                    kind,
                    target,
                    key,
                };
                self.backends
                    .act(&e, &mut self.steering, &self.progress)
                    .await
            }
        }
    }

    /// The kind and target an effect (the step's, or its undo's) acts with.
    fn effect_of(step: &Step, undo: bool) -> Option<(&StepKind, Option<&str>)> {
        if !undo {
            return Some((&step.kind, step.target.as_deref()));
        }
        match &step.undo {
            Some(Undo::Action { target, kind }) => {
                Some((kind, target.as_deref().or(step.target.as_deref())))
            }
            _ => None,
        }
    }
}

impl<B: Backends> Actuators for RunActuators<B> {
    async fn gates(&mut self, step: usize) -> CheckOutcome {
        let plan = self.plan.clone();
        let Some(s) = plan.steps.get(step) else {
            return CheckOutcome::Inconclusive(format!("no step {step}"));
        };
        let named = plan
            .gates
            .iter()
            .map(|g| (format!("gate \"{}\": ", g.name), g.check.clone()))
            .chain(
                s.preflight
                    .iter()
                    .map(|c| ("preflight: ".to_string(), c.clone())),
            )
            .collect();
        self.first_not_passing(named).await
    }

    async fn apply(&mut self, step: usize, key: &str) -> Result<Ended, Failure> {
        let plan = self.plan.clone();
        let s = plan.steps.get(step).ok_or("no such step")?;
        let r = self
            .run_kind(s, step, &s.kind, s.target.as_deref(), key)
            .await;
        self.set_progress(None);
        r
    }

    async fn postcheck(&mut self, step: usize) -> CheckOutcome {
        let plan = self.plan.clone();
        match plan.steps.get(step) {
            Some(s) => {
                let named = s.postcheck.iter().map(|c| (String::new(), c.clone()));
                self.first_not_passing(named.collect()).await
            }
            None => CheckOutcome::Pass,
        }
    }

    async fn undo(&mut self, step: usize, key: &str) -> Result<Ended, Failure> {
        let plan = self.plan.clone();
        let s = plan.steps.get(step).ok_or("no such step")?;
        let r = match &s.undo {
            Some(Undo::Action { kind, target }) => {
                let target = target.as_deref().or(s.target.as_deref());
                self.run_kind(s, step, kind, target, key).await
            }
            Some(Undo::Auto) => self.backends.undo_auto(s, key).await,
            None => Ok(Ended::Complete),
        };
        self.set_progress(None);
        r
    }

    async fn probe(&mut self, step: usize, key: &str, undo: bool) -> Probe {
        let plan = self.plan.clone();
        let Some(s) = plan.steps.get(step) else {
            return Probe::Unknown("no such step".into());
        };
        if undo && matches!(s.undo, Some(Undo::Auto)) {
            return self.backends.probe_auto_undo(s, key).await;
        }
        let Some((kind, target)) = Self::effect_of(s, undo) else {
            return Probe::NotHappened;
        };
        if kind.backend().is_none() {
            // Manual, wait and verify steps only observe: doing them again is safe.
            return Probe::NotHappened;
        }
        let e = Effect {
            step: s,
            index: step,
            kind,
            target,
            key,
        };
        self.backends.probe(&e).await
    }
}
