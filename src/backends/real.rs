//! The real backends of a run: PostgreSQL pools, HTTP clients, kube clients and Prometheus
//! clients, each built only for the plan's own targets. A drill never builds this type.

use std::collections::BTreeMap;
use std::time::Duration;

use super::http::HttpTargets;
use super::kubernetes::{self as kube, KubeTargets};
use super::postgres::{self as pg, PgBaseline, PgTargets};
use super::prometheus::check::{self as prom, PromTargets};
use crate::engine::{
    Backends, CheckOutcome, Effect, Ended, Failure, PreImageLog, Probe, Progress, Steering,
};
use crate::plan::{Check, CheckKind, Plan, Step, TargetKind};

/// How often a `wait` step on a real target evaluates its check again.
const REAL_POLL: Duration = Duration::from_secs(1);

pub struct RealBackends<E: PreImageLog> {
    pg: PgTargets,
    http: HttpTargets,
    kube: KubeTargets,
    prom: PromTargets,
    /// Where effects journal what they are about to overwrite (`patch` pre-images).
    log: E,
    /// Per postgres target, what its row_count and table_checksum checks compare with.
    baselines: BTreeMap<String, PgBaseline>,
}

impl<E: PreImageLog> RealBackends<E> {
    pub fn new(plan: &Plan, log: E) -> Self {
        RealBackends {
            pg: PgTargets::for_plan(plan),
            http: HttpTargets::for_plan(plan),
            kube: KubeTargets::for_plan(plan),
            prom: PromTargets::for_plan(plan),
            log,
            baselines: BTreeMap::new(),
        }
    }
}

/// A step kind routed to a backend that has no such step (a plan bug validation missed).
fn not_a_step(e: &Effect<'_>) -> Failure {
    format!("no backend carries out `{}` steps", e.kind.name()).into()
}

impl<E: PreImageLog> Backends for RealBackends<E> {
    async fn act(
        &mut self,
        e: &Effect<'_>,
        steering: &mut Steering,
        progress: &Progress,
    ) -> Result<Ended, Failure> {
        match e.kind.backend() {
            Some(TargetKind::Postgres) => pg::step::act(&self.pg, e, steering, progress).await,
            Some(TargetKind::Kubernetes) => {
                kube::step::act(&mut self.kube, &mut self.log, e, steering, progress).await
            }
            Some(TargetKind::Http) => self.http.act(e).await,
            Some(TargetKind::Sim) => Err(format!(
                "`{}` acts on the drill world and this run has none",
                e.kind.name()
            )
            .into()),
            Some(TargetKind::Prometheus) | None => Err(not_a_step(e)),
        }
    }

    async fn undo_auto(&mut self, step: &Step, key: &str) -> Result<Ended, Failure> {
        kube::step::undo_auto(&mut self.kube, step, key).await
    }

    async fn probe(&mut self, e: &Effect<'_>) -> Probe {
        match e.kind.backend() {
            Some(TargetKind::Postgres) => pg::step::probe(&self.pg, e).await,
            Some(TargetKind::Kubernetes) => kube::step::probe(&mut self.kube, e).await,
            Some(TargetKind::Http) => {
                Probe::Unknown("`http` effects cannot be probed; decide whether it happened".into())
            }
            Some(TargetKind::Sim) => Probe::Unknown("the run has no drill world".into()),
            // Manual, wait and verify steps only observe: doing them again is safe.
            Some(TargetKind::Prometheus) | None => Probe::NotHappened,
        }
    }

    async fn probe_auto_undo(&mut self, step: &Step, key: &str) -> Probe {
        kube::step::probe_auto_undo(&mut self.kube, step, key).await
    }

    async fn evaluate(&mut self, check: &Check, kind: TargetKind) -> CheckOutcome {
        match kind {
            TargetKind::Postgres => match self.pg.pool(&check.target) {
                Ok(pool) => {
                    let empty = PgBaseline::default();
                    let baseline = self.baselines.get(&check.target).unwrap_or(&empty);
                    pg::evaluate(pool, &check.kind, baseline).await
                }
                Err(e) => CheckOutcome::Inconclusive(e),
            },
            TargetKind::Prometheus => match self.prom.client(&check.target) {
                Ok(client) => prom::evaluate(client, &check.target, &check.kind).await,
                Err(e) => CheckOutcome::Inconclusive(e),
            },
            TargetKind::Kubernetes => match &check.kind {
                CheckKind::VolumeUsage { volume, max } => {
                    match self.kube.cluster(Some(&check.target)).await {
                        Ok(cluster) => {
                            kube::volume_usage::evaluate(&cluster, &check.target, volume, *max)
                                .await
                        }
                        Err(e) => CheckOutcome::Inconclusive(e),
                    }
                }
                other => CheckOutcome::Inconclusive(format!(
                    "{} checks on kubernetes targets are not supported ({})",
                    other.name(),
                    check.target
                )),
            },
            TargetKind::Sim => CheckOutcome::Inconclusive(format!(
                "{} is a drill target and this run has no drill world",
                check.target
            )),
            TargetKind::Http => CheckOutcome::Inconclusive(format!(
                "checks on http targets are not supported ({})",
                check.target
            )),
        }
    }

    fn poll(&self, _kind: TargetKind) -> Duration {
        REAL_POLL
    }

    async fn capture_baseline(
        &mut self,
        plan: &Plan,
        checks: &[Check],
    ) -> (serde_json::Value, Vec<String>) {
        let mut failed = Vec::new();
        let names = plan
            .targets
            .values()
            .filter(|t| t.kind == TargetKind::Postgres)
            .map(|t| t.name.clone());
        for name in names {
            let mine: Vec<&Check> = checks.iter().filter(|c| c.target == name).collect();
            let wanted = mine.iter().any(|c| {
                matches!(
                    c.kind,
                    CheckKind::RowCount { .. } | CheckKind::TableChecksum { .. }
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

    fn restore_baseline(&mut self, data: &serde_json::Value) {
        if let Ok(b) = serde_json::from_value(data.clone()) {
            self.baselines = b;
        }
    }

    fn restore_pre_image(&mut self, key: &str, data: serde_json::Value) {
        self.kube.pre_images.insert(key.to_string(), data);
    }
}
