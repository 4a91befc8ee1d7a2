//! Actuators for the drill world: `sim.*` steps become world controls (recorded as durable
//! effect markers), and manual, wait and verify steps run against the simulated targets.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::effects::{EffectLog, SimEffect};
use super::sim_checks::{Baseline, evaluate, evaluate_all};
use crate::engine::{Actuators, CheckOutcome, Probe, Progress};
use crate::plan::{Plan, Revision, SimAction, StepKind, Undo};
use crate::sources::SnapshotState;
use crate::world::{SharedWorld, World, WorldControl};

/// How often a waiting step looks at the world again.
const POLL: Duration = Duration::from_millis(200);

pub struct SimActuators<E: EffectLog> {
    world: SharedWorld,
    plan: Arc<Plan>,
    effects: E,
    baseline: Baseline,
    /// Confirmations of manual steps (the step's index), from the console or headless input.
    confirms: mpsc::Receiver<usize>,
    auto_confirm: bool,
    progress: Progress,
}

impl<E: EffectLog> SimActuators<E> {
    pub fn new(
        world: SharedWorld,
        plan: Arc<Plan>,
        effects: E,
        confirms: mpsc::Receiver<usize>,
        auto_confirm: bool,
        progress: Progress,
    ) -> Self {
        let baseline = world
            .lock()
            .map(|w| Baseline::capture(&w))
            .unwrap_or_default();
        SimActuators {
            world,
            plan,
            effects,
            baseline,
            confirms,
            auto_confirm,
            progress,
        }
    }

    fn set_progress(&self, text: Option<String>) {
        if let Ok(mut p) = self.progress.lock() {
            *p = text;
        }
    }

    pub fn effects(&self) -> &E {
        &self.effects
    }

    fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> Result<T, String> {
        let mut w = self
            .world
            .lock()
            .map_err(|_| "the drill world is unavailable".to_string())?;
        Ok(f(&mut w))
    }

    /// The controls an action means in the world as it is now.
    fn controls(&self, action: &SimAction) -> Result<Vec<WorldControl>, String> {
        Ok(match action {
            SimAction::PauseBackfill => vec![WorldControl::PauseBackfill],
            SimAction::ResumeBackfill => vec![WorldControl::ResumeBackfill],
            SimAction::SetBatchSize { batch } => vec![WorldControl::SetBatchSize(*batch)],
            SimAction::RevertApp { to_revision } => {
                let target = self.with_world(|w| {
                    let app = &w.state().app;
                    match to_revision {
                        Revision::Named(n) => Some(n.clone()),
                        Revision::Previous => app
                            .revisions
                            .iter()
                            .map(|r| r.name.clone())
                            .find(|r| *r != app.update_revision),
                    }
                })?;
                let target = target.ok_or("the app has no previous revision")?;
                vec![
                    WorldControl::SetAppRevision(target),
                    WorldControl::SetAppPartition(0),
                ]
            }
            SimAction::SetPartition { partition } => {
                vec![WorldControl::SetAppPartition(*partition)]
            }
            SimAction::DownMigration { .. } => vec![WorldControl::DownMigrate],
            SimAction::SetFlag { flag, enabled } => vec![WorldControl::SetFlag {
                name: flag.clone(),
                enabled: *enabled,
            }],
            SimAction::Snapshot { volume } => vec![WorldControl::TakeSnapshot {
                volume: volume.clone(),
            }],
            SimAction::DropSlot { slot } => vec![WorldControl::DropSlot { name: slot.clone() }],
            SimAction::CreateSlot { slot, replica } => vec![WorldControl::CreateSlot {
                name: slot.clone(),
                replica: replica.clone(),
            }],
            SimAction::PauseReplay { replica } => vec![WorldControl::PauseReplay {
                replica: replica.clone(),
            }],
            SimAction::ResumeReplay { replica } => vec![WorldControl::ResumeReplay {
                replica: replica.clone(),
            }],
        })
    }

    /// Applies an action's controls, records its marker, and waits for what it set in
    /// motion (a rollout, a snapshot) to finish.
    async fn act(&mut self, action: &SimAction, key: &str) -> Result<(), String> {
        let controls = self.controls(action)?;
        let snapshots_before = self.with_world(|w| w.state().snapshots.len())?;
        let world_ms = self.with_world(|w| -> Result<u64, String> {
            for c in &controls {
                w.apply(c.clone()).map_err(|e| e.to_string())?;
            }
            Ok(w.elapsed().as_millis() as u64)
        })??;
        self.effects
            .record(&SimEffect {
                key: key.to_string(),
                world_ms,
                controls: controls.clone(),
            })
            .await?;
        match action {
            SimAction::RevertApp { .. } => {
                let Some(WorldControl::SetAppRevision(rev)) = controls.first() else {
                    return Ok(());
                };
                loop {
                    let (on, ready, total) = self.with_world(|w| {
                        let pods = &w.state().app.pods;
                        let on = pods.iter().filter(|p| p.revision == *rev).count();
                        let ready = pods
                            .iter()
                            .filter(|p| p.revision == *rev && p.ready())
                            .count();
                        (on, ready, pods.len())
                    })?;
                    self.set_progress(Some(format!(
                        "{ready}/{total} pods ready on {rev} ({on} rolled)"
                    )));
                    if ready == total {
                        return Ok(());
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
            SimAction::Snapshot { volume } => loop {
                let state = self.with_world(|w| {
                    let st = w.state();
                    let vol = st.volumes.iter().position(|v| v.name == *volume);
                    st.snapshots
                        .iter()
                        .skip(snapshots_before)
                        .find(|s| Some(s.volume) == vol)
                        .map(|s| s.state)
                })?;
                match state {
                    Some(SnapshotState::Ready) => return Ok(()),
                    Some(SnapshotState::Failed) => {
                        return Err(format!("snapshot of {volume} failed"));
                    }
                    _ => {
                        self.set_progress(Some(format!("snapshot of {volume} pending")));
                        tokio::time::sleep(POLL).await;
                    }
                }
            },
            _ => Ok(()),
        }
    }

    async fn run_kind(&mut self, step: usize, kind: &StepKind, key: &str) -> Result<(), String> {
        match kind {
            StepKind::Sim(action) => self.act(action, key).await,
            StepKind::Manual { instruction } => {
                if self.auto_confirm {
                    return Ok(());
                }
                self.set_progress(Some(format!("waiting for confirmation: {instruction}")));
                loop {
                    match self.confirms.recv().await {
                        Some(i) if i == step => return Ok(()),
                        Some(_) => {}
                        None => return Err("no one can confirm the manual step".into()),
                    }
                }
            }
            StepKind::Wait { check } => loop {
                let r = self.with_world(|w| evaluate(w, check, &self.baseline.clone()))?;
                match r {
                    CheckOutcome::Pass => return Ok(()),
                    CheckOutcome::Fail(why) | CheckOutcome::Inconclusive(why) => {
                        self.set_progress(Some(format!("waiting: {why}")));
                        tokio::time::sleep(POLL).await;
                    }
                }
            },
            StepKind::Verify { checks } => {
                let baseline = self.baseline.clone();
                match self.with_world(|w| evaluate_all(w, checks, &baseline))? {
                    CheckOutcome::Pass => Ok(()),
                    CheckOutcome::Fail(why) => Err(why),
                    CheckOutcome::Inconclusive(why) => Err(format!("inconclusive: {why}")),
                }
            }
            other => Err(format!(
                "`{}` steps are not simulated in drills; run the plan against a real target",
                other.name()
            )),
        }
    }
}

impl<E: EffectLog> Actuators for SimActuators<E> {
    async fn gates(&mut self, step: usize) -> CheckOutcome {
        let plan = self.plan.clone();
        let baseline = self.baseline.clone();
        let Some(s) = plan.steps.get(step) else {
            return CheckOutcome::Inconclusive(format!("no step {step}"));
        };
        // Each check once, in order; the first that does not pass is named.
        let named = plan
            .gates
            .iter()
            .map(|g| (format!("gate \"{}\"", g.name), &g.check))
            .chain(s.preflight.iter().map(|c| ("preflight".to_string(), c)));
        let first = self.with_world(|w| {
            named
                .map(|(name, c)| (name, evaluate(w, c, &baseline)))
                .find(|(_, r)| *r != CheckOutcome::Pass)
        });
        match first {
            Ok(None) => CheckOutcome::Pass,
            Ok(Some((name, CheckOutcome::Fail(why)))) => {
                CheckOutcome::Fail(format!("{name}: {why}"))
            }
            Ok(Some((name, CheckOutcome::Inconclusive(why)))) => {
                CheckOutcome::Inconclusive(format!("{name}: {why}"))
            }
            Ok(Some((_, CheckOutcome::Pass))) => CheckOutcome::Pass,
            Err(e) => CheckOutcome::Inconclusive(e),
        }
    }

    async fn apply(&mut self, step: usize, key: &str) -> Result<(), String> {
        let plan = self.plan.clone();
        let s = plan.steps.get(step).ok_or("no such step")?;
        let r = self.run_kind(step, &s.kind, key).await;
        self.set_progress(None);
        r
    }

    async fn postcheck(&mut self, step: usize) -> CheckOutcome {
        let plan = self.plan.clone();
        let baseline = self.baseline.clone();
        match plan.steps.get(step) {
            Some(s) => self
                .with_world(|w| evaluate_all(w, &s.postcheck, &baseline))
                .unwrap_or_else(CheckOutcome::Inconclusive),
            None => CheckOutcome::Pass,
        }
    }

    async fn undo(&mut self, step: usize, key: &str) -> Result<(), String> {
        let plan = self.plan.clone();
        let s = plan.steps.get(step).ok_or("no such step")?;
        let r = match &s.undo {
            Some(Undo::Action { kind, .. }) => self.run_kind(step, kind, key).await,
            Some(Undo::Auto) => Err("automatic undo is not simulated in drills".into()),
            None => Ok(()),
        };
        self.set_progress(None);
        r
    }

    async fn probe(&mut self, step: usize, key: &str, undo: bool) -> Probe {
        let plan = self.plan.clone();
        let Some(s) = plan.steps.get(step) else {
            return Probe::Unknown("no such step".into());
        };
        let acts_on_world = if undo {
            matches!(
                &s.undo,
                Some(Undo::Action {
                    kind: StepKind::Sim(_),
                    ..
                })
            )
        } else {
            matches!(s.kind, StepKind::Sim(_))
        };
        if !acts_on_world {
            // Manual, wait and verify steps only observe: doing them again is safe.
            return Probe::NotHappened;
        }
        match self.effects.contains(key).await {
            Ok(true) => Probe::Happened,
            Ok(false) => Probe::NotHappened,
            Err(e) => Probe::Unknown(e),
        }
    }
}
