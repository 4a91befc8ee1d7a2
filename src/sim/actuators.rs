//! The drill world as a target: `sim.*` steps become world controls (recorded as durable
//! effect markers), and checks on `sim` targets read the world.

use std::collections::BTreeMap;
use std::time::Duration;

use super::checks::{Baseline, evaluate};
use super::effects::{EffectLog, SimEffect};
use crate::engine::{CheckOutcome, Failure, Probe, Progress};
use crate::plan::{Check, Revision, SimAction};
use crate::sim::world::{SharedWorld, World, WorldControl};
use crate::sources::SnapshotState;

/// How often a waiting step looks at the world again.
pub(crate) const POLL: Duration = Duration::from_millis(200);

/// The drill world a run acts on, with where its effects are recorded.
pub struct SimWorld<E: EffectLog> {
    pub(super) world: SharedWorld,
    pub(super) effects: E,
    pub(super) baseline: Baseline,
    pub(super) progress: Progress,
    /// What stands in for each of the plan's targets.
    pub(super) binding: super::bind::Binding,
    /// What `patch` steps overwrote (by effect key), for their automatic undo.
    pub(super) pre_images: BTreeMap<String, serde_json::Value>,
}

impl<E: EffectLog> SimWorld<E> {
    pub fn new(world: SharedWorld, effects: E, progress: Progress) -> Self {
        let baseline = world
            .lock()
            .map(|w| Baseline::capture(&w))
            .unwrap_or_default();
        SimWorld {
            world,
            effects,
            baseline,
            progress,
            binding: Default::default(),
            pre_images: BTreeMap::new(),
        }
    }

    /// The world bound to a plan's targets by `binding`.
    pub fn with_binding(mut self, binding: super::bind::Binding) -> Self {
        self.binding = binding;
        self
    }

    /// Restores a `patch` pre-image journaled in an earlier life of the run.
    pub fn restore_pre_image(&mut self, key: &str, data: serde_json::Value) {
        self.pre_images.insert(key.to_string(), data);
    }

    pub(super) fn set_progress(&self, text: Option<String>) {
        if let Ok(mut p) = self.progress.lock() {
            *p = text;
        }
    }

    pub fn effects(&self) -> &E {
        &self.effects
    }

    pub(super) fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> Result<T, String> {
        let mut w = self
            .world
            .lock()
            .map_err(|_| "the drill world is unavailable".to_string())?;
        Ok(f(&mut w))
    }

    /// Evaluates a check on a `sim` target against the world as it is now.
    pub fn check_world(&self, check: &Check) -> CheckOutcome {
        let baseline = &self.baseline;
        self.with_world(|w| evaluate(w, check, baseline))
            .unwrap_or_else(CheckOutcome::Inconclusive)
    }

    /// Whether the world effect keyed `key` was recorded.
    pub async fn probe_marker(&mut self, key: &str) -> Probe {
        match self.effects.contains(key).await {
            Ok(true) => Probe::Happened,
            Ok(false) => Probe::NotHappened,
            Err(e) => Probe::Unknown(e),
        }
    }

    /// Applies `controls` in order and records them as one effect keyed `key`, at the world
    /// time they were applied. A control the world refuses stops there: those before it
    /// stay applied and are recorded; the error says which was refused.
    pub(super) async fn apply_recorded(
        &mut self,
        key: &str,
        controls: Vec<WorldControl>,
    ) -> Result<(), String> {
        let (world_ms, applied, refused) = self.with_world(|w| {
            let mut applied = Vec::new();
            let mut refused = None;
            for c in controls {
                match w.apply(c.clone()) {
                    Ok(()) => applied.push(c),
                    Err(e) => {
                        refused = Some(e.to_string());
                        break;
                    }
                }
            }
            (w.elapsed().as_millis() as u64, applied, refused)
        })?;
        if !applied.is_empty() || refused.is_none() {
            self.effects
                .record(&SimEffect {
                    key: key.to_string(),
                    world_ms,
                    controls: applied,
                })
                .await?;
        }
        match refused {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// `base`, or else `base.2`, `base.3`…: the first key no effect is recorded under (a
    /// part of a step that happens again, e.g. a second deletion of the same pod).
    pub(super) async fn fresh_key(&mut self, base: &str) -> Result<String, String> {
        let mut key = base.to_string();
        let mut n = 1;
        while self.effects.contains(&key).await? {
            n += 1;
            key = format!("{base}.{n}");
        }
        Ok(key)
    }

    /// The state of the first snapshot of `volume` (named `name`, when given) among those
    /// taken after the first `before`, if there is one.
    pub(super) fn snapshot_state(
        &self,
        volume: &str,
        before: usize,
        name: Option<&str>,
    ) -> Result<Option<SnapshotState>, String> {
        self.with_world(|w| {
            let st = w.state();
            let vol = st.volumes.iter().position(|v| v.name == *volume);
            st.snapshots
                .iter()
                .skip(before)
                .find(|s| Some(s.volume) == vol && name.is_none_or(|n| s.name == n))
                .map(|s| s.state)
        })
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
                name: None,
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

    /// Applies `controls` to the world and records them under `key`, durably, so a resumed
    /// drill replays them. Failing once a control is applied, it says what landed (`what`).
    pub async fn record_controls(
        &mut self,
        key: &str,
        controls: Vec<WorldControl>,
        what: &str,
    ) -> Result<(), Failure> {
        let mut applied = 0;
        let world_ms = self.with_world(|w| -> Result<u64, String> {
            for c in &controls {
                w.apply(c.clone()).map_err(|e| e.to_string())?;
                applied += 1;
            }
            Ok(w.elapsed().as_millis() as u64)
        })?;
        let landed = (applied > 0).then(|| format!("{what} applied"));
        let fail = |e: String| Failure::after(landed.clone(), e);
        let world_ms = world_ms.map_err(fail)?;
        self.effects
            .record(&SimEffect {
                key: key.to_string(),
                world_ms,
                controls,
            })
            .await
            .map_err(fail)
    }

    /// Applies an action's controls, records its marker, and waits for what it set in
    /// motion (a rollout, a snapshot) to finish. Failing once a control is applied, it
    /// says so (a rollback undoes it).
    pub async fn act(&mut self, action: &SimAction, key: &str) -> Result<(), Failure> {
        let controls = self.controls(action)?;
        let snapshots_before = self.with_world(|w| w.state().snapshots.len())?;
        self.record_controls(key, controls.clone(), action.name())
            .await?;
        let landed = Some(format!("{} applied", action.name()));
        let fail = |e: String| Failure::after(landed.clone(), e);
        match action {
            SimAction::RevertApp { .. } => {
                let Some(WorldControl::SetAppRevision(rev)) = controls.first() else {
                    return Ok(());
                };
                loop {
                    let (on, ready, total) = self
                        .with_world(|w| {
                            let pods = &w.state().app.pods;
                            let on = pods.iter().filter(|p| p.revision == *rev).count();
                            let ready = pods
                                .iter()
                                .filter(|p| p.revision == *rev && p.ready())
                                .count();
                            (on, ready, pods.len())
                        })
                        .map_err(fail)?;
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
                let state = self
                    .snapshot_state(volume, snapshots_before, None)
                    .map_err(fail)?;
                match state {
                    Some(SnapshotState::Ready) => return Ok(()),
                    Some(SnapshotState::Failed) => {
                        return Err(fail(format!("snapshot of {volume} failed")));
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
}
