//! A drill binds every target of a real plan to the drill world: postgres to the simulated
//! primary (or a replica), kubernetes to the app, prometheus to the world's series, http
//! to its flags and webhooks. `SimWorld` is then the run's only backend: no real client.

use std::collections::BTreeMap;
use std::time::Duration;

use super::actuators::{POLL, SimWorld};
use super::effects::EffectLog;
use super::world::WorldControl;
use super::world::scenario::{BoundAction, Scenario};
use crate::backends::kubernetes::step::{POD_TIMEOUT, guide};
use crate::engine::{Backends, Effect, Steering};
use crate::engine::{CheckOutcome, Ended, Failure, Probe, Progress};
use crate::plan::{Check, HttpUrl, Plan, SecretRef, Step, StepKind, TargetKind};

/// What stands in for a plan's target in the drill world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// The simulated primary (postgres targets, by default).
    Primary,
    /// A simulated replica, by name (a postgres target that is a standby).
    Replica(String),
    /// The simulated app: its StatefulSet, pods, volumes and snapshots.
    App,
    /// The world's own series, under exporters' names.
    Metrics,
    /// The app's feature flags and webhooks.
    Web,
    /// A `sim` target: the world itself.
    World,
}

impl Node {
    /// The target kinds a node can stand in for.
    fn serves(&self, kind: TargetKind) -> bool {
        matches!(
            (self, kind),
            (Node::Primary | Node::Replica(_), TargetKind::Postgres)
                | (Node::App, TargetKind::Kubernetes)
                | (Node::Metrics, TargetKind::Prometheus)
                | (Node::Web, TargetKind::Http)
                | (Node::World, TargetKind::Sim)
        )
    }

    fn by_kind(kind: TargetKind) -> Node {
        match kind {
            TargetKind::Postgres => Node::Primary,
            TargetKind::Kubernetes => Node::App,
            TargetKind::Prometheus => Node::Metrics,
            TargetKind::Http => Node::Web,
            TargetKind::Sim => Node::World,
        }
    }

    /// The node a scenario's `[bind.targets]` value names.
    pub fn named(scenario: &Scenario, value: &str) -> Option<Node> {
        if value == "primary" || value == scenario.primary.name {
            return Some(Node::Primary);
        }
        if scenario.replicas.iter().any(|r| r.name == value) {
            return Some(Node::Replica(value.to_string()));
        }
        match value {
            "app" | "cluster" => Some(Node::App),
            "metrics" => Some(Node::Metrics),
            "web" | "flags" => Some(Node::Web),
            _ if value == scenario.app.statefulset => Some(Node::App),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Node::Primary => "the simulated primary".into(),
            Node::Replica(r) => format!("the simulated replica {r}"),
            Node::App => "the simulated app (StatefulSet, pods, volumes)".into(),
            Node::Metrics => "the drill world's series".into(),
            Node::Web => "the simulated app's flags and webhooks".into(),
            Node::World => "the drill world".into(),
        }
    }
}

/// How a plan's targets, statements and URLs bind to the drill world.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Binding {
    pub targets: BTreeMap<String, Node>,
    /// A statement holding this text (case and spacing aside) acts on the world so.
    pub statements: Vec<(String, WorldControl)>,
    /// A URL whose text (a variable's name, a path, the URL) holds the key sets this flag.
    pub flags: Vec<(String, String)>,
}

/// Why a target cannot be bound: its name and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unbound {
    pub target: String,
    pub why: String,
}

/// Statement text as compared: lower case, single spaces, no trailing `;`.
pub fn normalized(text: &str) -> String {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    words.join(" ").trim_end_matches(';').trim().to_string()
}

impl Binding {
    /// Binds every target of `plan` to `scenario`'s world: by the scenario's
    /// `[bind.targets]` where it names one, else by kind.
    pub fn for_plan(plan: &Plan, scenario: &Scenario) -> Result<Binding, Vec<Unbound>> {
        let mut targets = BTreeMap::new();
        let mut errors = Vec::new();
        for t in plan.targets.values() {
            let named = scenario.bind.targets.iter().find(|(k, _)| *k == t.name);
            let node = match named {
                Some((_, value)) => match Node::named(scenario, value) {
                    Some(n) => n,
                    None => {
                        errors.push(Unbound {
                            target: t.name.clone(),
                            why: format!("the drill world has nothing named {value:?}"),
                        });
                        continue;
                    }
                },
                None => Node::by_kind(t.kind),
            };
            if !node.serves(t.kind) {
                errors.push(Unbound {
                    target: t.name.clone(),
                    why: format!(
                        "a {} target cannot be bound to {}",
                        t.kind.name(),
                        node.describe()
                    ),
                });
                continue;
            }
            targets.insert(t.name.clone(), node);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let statements = scenario
            .bind
            .statements
            .iter()
            .map(|(text, action)| {
                let control = match action {
                    BoundAction::PauseBackfill => WorldControl::PauseBackfill,
                    BoundAction::ResumeBackfill => WorldControl::ResumeBackfill,
                    BoundAction::DownMigration => WorldControl::DownMigrate,
                };
                (normalized(text), control)
            })
            .collect();
        Ok(Binding {
            targets,
            statements,
            flags: scenario.bind.flags.clone(),
        })
    }

    /// The flag `[bind.flags]` gives for an http step's URL: the first whose text is in
    /// the URL's written form (a variable's name, a file's path, the URL or path itself).
    pub fn flag_for(&self, url: &HttpUrl) -> Option<&str> {
        let written = match url {
            HttpUrl::Secret(SecretRef::Env(name)) => name.clone(),
            HttpUrl::Secret(SecretRef::File(path)) => path.display().to_string(),
            HttpUrl::Secret(SecretRef::Inline(u)) => u.clone(),
            HttpUrl::Path(p) => p.clone(),
        };
        self.flags
            .iter()
            .find(|(text, _)| written.contains(text.as_str()))
            .map(|(_, flag)| flag.as_str())
    }

    /// The node `target` is bound to (postgres targets default to the primary).
    pub fn node(&self, target: Option<&str>) -> Node {
        target
            .and_then(|t| self.targets.get(t).cloned())
            .unwrap_or(Node::Primary)
    }
}

impl<E: EffectLog> Backends for SimWorld<E> {
    async fn act(
        &mut self,
        e: &Effect<'_>,
        steering: &mut Steering,
        progress: &Progress,
    ) -> Result<Ended, Failure> {
        match e.kind {
            StepKind::Sim(action) => self.act(action, e.key).await.map(|()| Ended::Complete),
            StepKind::Sql { statement } => {
                let node = self.binding.node(e.target);
                self.sql(&node, statement, e.key).await
            }
            StepKind::SqlBatches { .. } => self.sql_batches(e, steering, progress).await,
            StepKind::StatefulsetRollback {
                statefulset,
                to_revision,
            } => {
                let timeout = e.step.timeout.unwrap_or(POD_TIMEOUT);
                let mut g = guide(steering, progress, e.index, e.key, timeout);
                self.statefulset_rollback(statefulset, to_revision, &mut g)
                    .await
            }
            StepKind::Scale { object, replicas } => self.scale(object, *replicas, e.key).await,
            StepKind::Patch { object, patch } => self.patch(object, patch, e.index, e.key).await,
            StepKind::Snapshot { volume } => {
                let mut g = guide(steering, progress, e.index, e.key, POD_TIMEOUT);
                self.snapshot(volume, &mut g).await
            }
            StepKind::Http {
                request,
                expect_status,
            } => {
                let flag = self.binding.flag_for(&request.url).map(str::to_string);
                self.http(e.target, request, *expect_status, flag.as_deref(), e.key)
                    .await
            }
            StepKind::Manual { .. } | StepKind::Wait { .. } | StepKind::Verify { .. } => {
                Err(format!("no backend carries out `{}` steps", e.kind.name()).into())
            }
        }
    }

    async fn undo_auto(&mut self, step: &Step, key: &str) -> Result<Ended, Failure> {
        let StepKind::Patch { object, .. } = &step.kind else {
            return Err(format!("`{}` steps have no automatic undo", step.kind.name()).into());
        };
        let applied = key.strip_suffix("/undo").unwrap_or(key);
        self.undo_patch(object, applied, key).await
    }

    async fn probe(&mut self, e: &Effect<'_>) -> Probe {
        match e.kind {
            StepKind::SqlBatches { .. } => self.probe_batches(e.key).await,
            StepKind::StatefulsetRollback { .. }
            | StepKind::Scale { .. }
            | StepKind::Patch { .. }
            | StepKind::Snapshot { .. } => self.probe_kube(e.kind, e.key).await,
            _ => self.probe_marker(e.key).await,
        }
    }

    async fn probe_auto_undo(&mut self, _step: &Step, key: &str) -> Probe {
        self.probe_marker(key).await
    }

    async fn evaluate(&mut self, check: &Check, kind: TargetKind) -> CheckOutcome {
        match kind {
            // The same queries and judge as on a real server, on the world's own series.
            TargetKind::Prometheus => {
                super::prom::evaluate(&self.world, &check.target, &check.kind).await
            }
            _ => self.check_world(check),
        }
    }

    fn poll(&self, _kind: TargetKind) -> Duration {
        POLL
    }

    async fn capture_baseline(
        &mut self,
        _plan: &Plan,
        _checks: &[Check],
    ) -> (serde_json::Value, Vec<String>) {
        // The world's baseline is taken when the world is bound (`SimWorld::new`).
        (serde_json::Value::Null, Vec::new())
    }

    fn restore_baseline(&mut self, _data: &serde_json::Value) {}

    fn restore_pre_image(&mut self, key: &str, data: serde_json::Value) {
        SimWorld::restore_pre_image(self, key, data);
    }
}
