//! Kubernetes: reaching a cluster (`connect`, `resource`), the source task, RBAC of a plan, and the
//! actuators `statefulset_rollback`, `scale`, `patch` (journaled pre-image) and `snapshot`.

mod api;
pub mod connect;
mod merge;
mod objects;
pub(crate) mod pods;
pub mod rbac;
pub mod resource;
mod rollout;
pub mod source;
pub mod step;
pub(crate) mod stuck;
pub mod volume_usage;
pub(crate) mod wording;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, watch};

use crate::engine::{AskCell, Ended, Failure, Progress};
use crate::plan::{Plan, Target, TargetKind};

pub use api::{CALL_TIMEOUT, Cluster, FIELD_MANAGER, KubeError};
pub use connect::{ConnectError, Connected, connect};
pub use merge::{pre_image, turning};
pub(crate) use objects::CREATING_SNAPSHOT;
pub use objects::{
    patch, probe_annotated, probe_snapshot, scale, snapshot, snapshot_name, undo_patch,
};
pub use resource::{ObjectRef, Resource};
pub(crate) use rollout::{Rev, STUCK_GRACE, choose};
pub use rollout::{probe_rollback, rollback};

/// The annotation every write sets on the object it writes: the effect's idempotency key,
/// which `probe` reads back after a crash.
pub const STEP_ANNOTATION: &str = "ebb.dev/step";
/// On a StatefulSet being rolled back: the ControllerRevision it is rolled back to.
pub const REVISION_ANNOTATION: &str = "ebb.dev/revision";
/// How often observed state is read again while waiting.
pub const POLL: Duration = Duration::from_millis(500);

/// The kubernetes targets of a run: clients built on first use, and the pre-images
/// `patch` steps journaled (by effect key), for their automatic undo.
pub struct KubeTargets {
    targets: BTreeMap<String, Target>,
    clusters: BTreeMap<String, Cluster>,
    pub pre_images: BTreeMap<String, Value>,
}

impl KubeTargets {
    pub fn for_plan(plan: &Plan) -> KubeTargets {
        KubeTargets {
            targets: plan
                .targets
                .values()
                .filter(|t| t.kind == TargetKind::Kubernetes)
                .map(|t| (t.name.clone(), t.clone()))
                .collect(),
            clusters: BTreeMap::new(),
            pre_images: BTreeMap::new(),
        }
    }

    /// The client and namespace of `target`, connecting on first use.
    pub async fn cluster(&mut self, target: Option<&str>) -> Result<Cluster, String> {
        let name = target.ok_or("the step names no target")?;
        if let Some(c) = self.clusters.get(name) {
            return Ok(c.clone());
        }
        let t = self
            .targets
            .get(name)
            .ok_or_else(|| format!("{name} is not a kubernetes target of this plan"))?;
        let connected = crate::backends::kubernetes::connect(t, CALL_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        let c = Cluster {
            client: connected.client,
            namespace: connected.namespace,
        };
        self.clusters.insert(name.to_string(), c.clone());
        Ok(c)
    }
}

/// What a long kubernetes step needs from the console: its stop signal, the answers to
/// its asks, where it raises them, and where it writes its progress.
pub struct Guide<'a> {
    pub step: usize,
    pub key: &'a str,
    pub stop: &'a mut watch::Receiver<bool>,
    pub answers: &'a mut mpsc::Receiver<(usize, String)>,
    pub asking: &'a AskCell,
    pub progress: &'a Progress,
    /// How long each pod may take to become Ready.
    pub pod_timeout: Duration,
}

impl Guide<'_> {
    pub(crate) fn stop_requested(&self) -> bool {
        *self.stop.borrow()
    }

    pub(crate) fn report(&self, text: String) {
        if let Ok(mut p) = self.progress.lock() {
            *p = Some(text);
        }
    }

    /// Raises (or withdraws, with `None`) the step's ask.
    pub(crate) fn ask(&self, what: Option<(String, String)>) {
        if let Ok(mut a) = self.asking.lock() {
            a.ask = what.map(|(what, word)| crate::engine::Ask {
                step: self.step,
                what,
                word,
            });
        }
    }

    /// Leaves a line for the audit log (an engine note).
    pub(crate) fn say(&self, text: String) {
        if let Ok(mut a) = self.asking.lock() {
            a.notes.push(text);
        }
    }

    /// Sleeps one poll, or less when a stop is requested.
    async fn pause(&mut self) {
        let stop = &mut *self.stop;
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }
}

/// A step's outcome from where it got to, with `landed` of its effect in place: an API
/// server that failed to answer stops it there as inconclusive (the run pauses; running
/// it again continues from the object's observed state); any other error fails it.
fn settle(
    at: &str,
    what: &str,
    landed: Option<String>,
    r: Result<Ended, KubeError>,
) -> Result<Ended, Failure> {
    match r {
        Ok(e) => Ok(e),
        Err(KubeError::Inconclusive(why)) => Ok(Ended::stopped_after(
            format!("{at}, the API server failing ({why})"),
            landed,
        )),
        Err(e) => Err(Failure::after(landed, format!("{what}: {e}"))),
    }
}
