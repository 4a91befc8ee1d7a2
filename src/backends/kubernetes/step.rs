//! The kubernetes backend's steps: rollback, scale, patch and snapshot on the target's
//! cluster, their probes, and a patch's automatic undo from its journaled pre-image.

use std::time::Duration;

use super::{Guide, KubeTargets};
use crate::engine::{Effect, PreImageLog, Steering};
use crate::engine::{Ended, Failure, Probe, Progress};
use crate::plan::{Step, StepKind};

/// How long each pod of a `statefulset_rollback` may take to be Ready, when the step sets
/// no `timeout`.
pub const POD_TIMEOUT: Duration = Duration::from_secs(600);

/// What a long kubernetes step needs from the console.
pub fn guide<'a>(
    steering: &'a mut Steering,
    progress: &'a Progress,
    step: usize,
    key: &'a str,
    pod_timeout: Duration,
) -> Guide<'a> {
    Guide {
        step,
        key,
        stop: &mut steering.stop,
        answers: &mut steering.answers,
        asking: &steering.asking,
        progress,
        pod_timeout,
    }
}

/// Carries out a kubernetes effect; `log` keeps a patch's pre-image before it applies.
pub async fn act<E: PreImageLog>(
    kube: &mut KubeTargets,
    log: &mut E,
    e: &Effect<'_>,
    steering: &mut Steering,
    progress: &Progress,
) -> Result<Ended, Failure> {
    let c = kube.cluster(e.target).await?;
    match e.kind {
        StepKind::StatefulsetRollback {
            statefulset,
            to_revision,
        } => {
            let timeout = e.step.timeout.unwrap_or(POD_TIMEOUT);
            let mut g = guide(steering, progress, e.index, e.key, timeout);
            super::rollback(&c, statefulset, to_revision, &mut g).await
        }
        StepKind::Scale { object, replicas } => super::scale(&c, object, *replicas, e.key).await,
        StepKind::Patch { object, patch } => {
            let pre = &mut kube.pre_images;
            super::patch(&c, object, patch, e.index, e.key, pre, log).await
        }
        StepKind::Snapshot { volume } => {
            let mut g = guide(steering, progress, e.index, e.key, POD_TIMEOUT);
            super::snapshot(&c, volume, &mut g).await
        }
        other => Err(format!("`{}` is not a kubernetes step", other.name()).into()),
    }
}

/// `undo = "auto"`: a patch's journaled pre-image written back.
pub async fn undo_auto(kube: &mut KubeTargets, s: &Step, key: &str) -> Result<Ended, Failure> {
    let StepKind::Patch { object, .. } = &s.kind else {
        return Err(format!("`{}` steps have no automatic undo", s.kind.name()).into());
    };
    let c = kube.cluster(s.target.as_deref()).await?;
    let applied = key.strip_suffix("/undo").unwrap_or(key);
    super::undo_patch(&c, object, applied, key, &kube.pre_images).await
}

/// Whether a patch's automatic undo keyed `key` happened.
pub async fn probe_auto_undo(kube: &mut KubeTargets, s: &Step, key: &str) -> Probe {
    let StepKind::Patch { object, .. } = &s.kind else {
        return Probe::NotHappened;
    };
    match kube.cluster(s.target.as_deref()).await {
        Ok(c) => super::probe_annotated(&c, object, key).await,
        Err(e) => Probe::Unknown(e),
    }
}

/// Whether a kubernetes effect happened, from what the cluster shows.
pub async fn probe(kube: &mut KubeTargets, e: &Effect<'_>) -> Probe {
    let c = match kube.cluster(e.target).await {
        Ok(c) => c,
        Err(err) => return Probe::Unknown(err),
    };
    match e.kind {
        StepKind::StatefulsetRollback { statefulset, .. } => {
            super::probe_rollback(&c, statefulset, e.key).await
        }
        StepKind::Scale { object, .. } | StepKind::Patch { object, .. } => {
            super::probe_annotated(&c, object, e.key).await
        }
        StepKind::Snapshot { .. } => super::probe_snapshot(&c, e.key).await,
        other => Probe::Unknown(format!("`{}` is not a kubernetes step", other.name())),
    }
}
