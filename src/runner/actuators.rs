//! The actuators of one run: each step, undo and check goes to its target's kind (the
//! drill world, PostgreSQL, Prometheus); manual, wait and verify steps work on any target.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::backends::http::HttpTargets;
use crate::backends::kubernetes::{self as kube, Guide, KubeTargets};
use crate::backends::postgres::{
    self as pg, BatchControl, BatchSpec, BatchesDone, PgBaseline, PgTargets,
};
use crate::backends::prometheus::check::{self as prom, PromTargets};
use crate::engine::{Actuators, CheckOutcome, Ended, Failure, Probe, Progress};
use crate::plan::{Check, Plan, Step, StepKind, TargetKind, Undo};
use crate::sim::actuators::{POLL, SimWorld};
use crate::sim::effects::EffectLog;

/// How often a `wait` step on a real target evaluates its check again.
const REAL_POLL: Duration = Duration::from_secs(1);
/// How long each pod of a `statefulset_rollback` may take to be Ready, when the step sets
/// no `timeout`.
const POD_TIMEOUT: Duration = Duration::from_secs(600);
/// `lock_timeout` of `sql` and `sql_batches` transactions (retried with backoff).
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// `planned` keys per batch times 2^`exponent`, at least 1.
fn scale(planned: u64, exponent: i32) -> u64 {
    if exponent >= 0 {
        planned.saturating_mul(1 << exponent.min(20))
    } else {
        (planned >> (-exponent).min(63)).max(1)
    }
}

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
    pub meter: crate::engine::Meter,
    /// Answers to an actuator's ask (step index, the word typed), from the console or
    /// headless input. Never given by `auto_confirm`: `--yes` deletes no pod.
    pub answers: mpsc::Receiver<(usize, String)>,
    /// Where actuators raise asks and leave notes for the audit log.
    pub asking: crate::engine::AskCell,
}

pub struct RunActuators<E: EffectLog> {
    plan: Arc<Plan>,
    /// The drill world, when the plan's `sim` targets are bound to one.
    sim: Option<SimWorld<E>>,
    pg: PgTargets,
    http: HttpTargets,
    kube: KubeTargets,
    /// Where effects journal what they are about to overwrite (`patch` pre-images).
    log: E,
    prom: PromTargets,
    /// Per postgres target, what its row_count and table_checksum checks compare with.
    baselines: BTreeMap<String, PgBaseline>,
    steering: Steering,
    progress: Progress,
}

impl<E: EffectLog> RunActuators<E> {
    pub fn new(
        plan: Arc<Plan>,
        sim: Option<SimWorld<E>>,
        log: E,
        steering: Steering,
        progress: Progress,
    ) -> Self {
        let pg = PgTargets::for_plan(&plan);
        let http = HttpTargets::for_plan(&plan);
        let kube = KubeTargets::for_plan(&plan);
        let prom = PromTargets::for_plan(&plan);
        RunActuators {
            plan,
            sim,
            pg,
            http,
            kube,
            log,
            prom,
            baselines: BTreeMap::new(),
            steering,
            progress,
        }
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

    /// Captures the baseline of every postgres target that `verify`-style checks name,
    /// as JSON for the journal, and the targets it could not be captured from.
    pub async fn capture_baseline(&mut self) -> (serde_json::Value, Vec<String>) {
        let checks = self.all_checks();
        let mut failed = Vec::new();
        let names: Vec<String> = self
            .plan
            .targets
            .values()
            .filter(|t| t.kind == TargetKind::Postgres)
            .map(|t| t.name.clone())
            .collect();
        for name in names {
            let mine: Vec<&Check> = checks.iter().filter(|c| c.target == name).collect();
            let wanted = mine.iter().any(|c| {
                matches!(
                    c.kind,
                    crate::plan::CheckKind::RowCount { .. }
                        | crate::plan::CheckKind::TableChecksum { .. }
                )
            });
            if !wanted {
                continue;
            }
            let captured = match self.pg.pool(&name) {
                Ok(pool) => PgBaseline::capture(pool, mine).await,
                Err(e) => Err(e),
            };
            match captured {
                Ok(b) => {
                    self.baselines.insert(name, b);
                }
                Err(e) => failed.push(format!("{name}: {e}")),
            }
        }
        let data = serde_json::to_value(&self.baselines).unwrap_or(serde_json::Value::Null);
        (data, failed)
    }

    /// Restores the baseline journaled when the run started.
    pub fn restore_baseline(&mut self, data: &serde_json::Value) {
        if let Ok(b) = serde_json::from_value(data.clone()) {
            self.baselines = b;
        }
    }

    /// Restores a `patch` pre-image journaled in an earlier life of the run.
    pub fn restore_pre_image(&mut self, key: &str, data: serde_json::Value) {
        self.kube.pre_images.insert(key.to_string(), data);
    }

    /// What a long kubernetes step needs from the console.
    fn guide<'a>(&'a mut self, step: usize, key: &'a str, pod_timeout: Duration) -> Guide<'a> {
        Guide {
            step,
            key,
            stop: &mut self.steering.stop,
            answers: &mut self.steering.answers,
            asking: &self.steering.asking,
            progress: &self.progress,
            pod_timeout,
        }
    }

    /// `undo = "auto"`: a patch's journaled pre-image written back.
    async fn undo_auto(&mut self, s: &Step, key: &str) -> Result<Ended, Failure> {
        let StepKind::Patch { object, .. } = &s.kind else {
            return Err(format!("`{}` steps have no automatic undo", s.kind.name()).into());
        };
        let c = self.kube.cluster(s.target.as_deref()).await?;
        let applied = key.strip_suffix("/undo").unwrap_or(key);
        kube::undo_patch(&c, object, applied, key, &self.kube.pre_images).await
    }

    pub fn sim(&self) -> Option<&SimWorld<E>> {
        self.sim.as_ref()
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
            Some(TargetKind::Sim) => match &self.sim {
                Some(sim) => sim.evaluate(check),
                None => CheckOutcome::Inconclusive(format!(
                    "{} is a drill target and this run has no drill world",
                    check.target
                )),
            },
            Some(TargetKind::Postgres) => match self.pg.pool(&check.target) {
                Ok(pool) => {
                    let empty = PgBaseline::default();
                    let baseline = self.baselines.get(&check.target).unwrap_or(&empty);
                    pg::evaluate(pool, &check.kind, baseline).await
                }
                Err(e) => CheckOutcome::Inconclusive(e),
            },
            Some(TargetKind::Prometheus) => match self.prom.client(&check.target) {
                Ok(client) => prom::evaluate(client, &check.target, &check.kind).await,
                Err(e) => CheckOutcome::Inconclusive(e),
            },
            Some(TargetKind::Kubernetes)
                if let crate::plan::CheckKind::VolumeUsage { volume, max } = &check.kind =>
            {
                match self.kube.cluster(Some(&check.target)).await {
                    Ok(cluster) => {
                        kube::volume_usage::evaluate(&cluster, &check.target, volume, *max).await
                    }
                    Err(e) => CheckOutcome::Inconclusive(e),
                }
            }
            Some(other) => CheckOutcome::Inconclusive(format!(
                "checks on {} targets are not supported yet ({})",
                other.name(),
                check.target
            )),
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
            Some(TargetKind::Sim) => POLL,
            _ => REAL_POLL,
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
            StepKind::Sim(action) => match &mut self.sim {
                Some(sim) => sim.act(action, key).await.map(|()| Ended::Complete),
                None => Err(format!(
                    "`{}` acts on the drill world and this run has none",
                    action.name()
                )
                .into()),
            },
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
            StepKind::Sql { statement } => {
                let pool = self.pool_for(target)?;
                pg::apply_sql(pool, key, &step.id, statement, LOCK_TIMEOUT)
                    .await
                    .map(|()| Ended::Complete)
                    .map_err(Failure::from)
            }
            StepKind::SqlBatches {
                table,
                key: column,
                batch,
                statement,
                throttle,
            } => {
                let pool = self.pool_for(target)?.clone();
                let mut spec = BatchSpec::new(table, column, *batch, statement);
                spec.max_replication_lag = throttle.max_replication_lag;
                spec.max_rows_per_second = throttle.max_rows_per_second;
                spec.lock_timeout = LOCK_TIMEOUT;
                let planned = *batch;
                let sized = |e: i32| scale(planned, e);
                let mut scale_rx = self.steering.batch_scale.clone();
                let (size_tx, size_rx) = watch::channel(sized(*scale_rx.borrow_and_update()));
                let mut control =
                    BatchControl::new(self.steering.stop.clone(), size_rx, self.progress.clone());
                control.meter = Some(self.steering.meter.clone());
                let committed = control.committed.clone();
                // What of the step landed: the batches committed, earlier runs included.
                let landed = move || match committed.load(std::sync::atomic::Ordering::SeqCst) {
                    0 => None,
                    1 => Some("1 batch applied".to_string()),
                    n => Some(format!("{n} batches applied")),
                };
                // The console's halve/double, turned into keys per batch for this step.
                let follow = async move {
                    while scale_rx.changed().await.is_ok() {
                        size_tx.send_replace(sized(*scale_rx.borrow_and_update()));
                    }
                    std::future::pending::<()>().await
                };
                let ran = tokio::select! {
                    r = pg::run_batches(&pool, key, &spec, &control) => r,
                    () = follow => Err("the batch size control went away".to_string()),
                };
                match ran {
                    Ok(BatchesDone::Finished { .. }) => Ok(Ended::Complete),
                    Ok(BatchesDone::Paused { done_batches }) => Ok(Ended::stopped_after(
                        format!("batch {done_batches}"),
                        landed(),
                    )),
                    // Every committed batch has its marker: when the server cannot be
                    // reached, the step stops here and continues from them later.
                    Err(e) if !pg::reachable(&pool).await => Ok(Ended::stopped_after(
                        format!("a batch, the target being unreachable ({e})"),
                        landed(),
                    )),
                    Err(e) => Err(Failure::after(landed(), e)),
                }
            }
            StepKind::Http {
                request,
                expect_status,
            } => self
                .http
                .send(target, request, *expect_status, key)
                .await
                .map(|()| Ended::Complete)
                .map_err(Failure::from),
            StepKind::StatefulsetRollback {
                statefulset,
                to_revision,
            } => {
                let c = self.kube.cluster(target).await?;
                let mut g = self.guide(index, key, step.timeout.unwrap_or(POD_TIMEOUT));
                kube::rollback(&c, statefulset, to_revision, &mut g).await
            }
            StepKind::Scale { object, replicas } => {
                let c = self.kube.cluster(target).await?;
                kube::scale(&c, object, *replicas, key).await
            }
            StepKind::Patch { object, patch } => {
                let c = self.kube.cluster(target).await?;
                let pre = &mut self.kube.pre_images;
                kube::patch(&c, object, patch, index, key, pre, &mut self.log).await
            }
            StepKind::Snapshot { volume } => {
                let c = self.kube.cluster(target).await?;
                let mut g = self.guide(index, key, POD_TIMEOUT);
                kube::snapshot(&c, volume, &mut g).await
            }
        }
    }

    fn pool_for(&self, target: Option<&str>) -> Result<&sqlx::PgPool, String> {
        let name = target.ok_or("the step names no target")?;
        self.pg.pool(name)
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

impl<E: EffectLog> Actuators for RunActuators<E> {
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
            Some(Undo::Auto) => self.undo_auto(s, key).await,
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
        if undo
            && matches!(s.undo, Some(Undo::Auto))
            && let StepKind::Patch { object, .. } = &s.kind
        {
            return match self.kube.cluster(s.target.as_deref()).await {
                Ok(c) => kube::probe_annotated(&c, object, key).await,
                Err(e) => Probe::Unknown(e),
            };
        }
        let Some((kind, target)) = Self::effect_of(s, undo) else {
            return Probe::NotHappened;
        };
        match kind {
            StepKind::Sim(_) => match &mut self.sim {
                Some(sim) => sim.probe(key).await,
                None => Probe::Unknown("the run has no drill world".into()),
            },
            StepKind::Sql { .. } => match self.pool_for(target) {
                Ok(pool) => pg::probe(pool, key).await,
                Err(e) => Probe::Unknown(e),
            },
            StepKind::SqlBatches { .. } => match self.pool_for(target) {
                Ok(pool) => pg::probe_batches(pool, key).await,
                Err(e) => Probe::Unknown(e),
            },
            // Manual, wait and verify steps only observe: doing them again is safe.
            StepKind::Manual { .. } | StepKind::Wait { .. } | StepKind::Verify { .. } => {
                Probe::NotHappened
            }
            StepKind::StatefulsetRollback { statefulset, .. } => {
                match self.kube.cluster(target).await {
                    Ok(c) => kube::probe_rollback(&c, statefulset, key).await,
                    Err(e) => Probe::Unknown(e),
                }
            }
            StepKind::Scale { object, .. } | StepKind::Patch { object, .. } => {
                match self.kube.cluster(target).await {
                    Ok(c) => kube::probe_annotated(&c, object, key).await,
                    Err(e) => Probe::Unknown(e),
                }
            }
            StepKind::Snapshot { .. } => match self.kube.cluster(target).await {
                Ok(c) => kube::probe_snapshot(&c, key).await,
                Err(e) => Probe::Unknown(e),
            },
            StepKind::Http { .. } => {
                Probe::Unknown("`http` effects cannot be probed; decide whether it happened".into())
            }
        }
    }
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
