//! Kubernetes steps on the drill world: `statefulset_rollback` steps the simulated partition
//! (with the real stuck-pod ask), and `scale`, `patch` and `snapshot` act on the simulation.

use std::time::Duration;

use serde_json::{Value, json};

use super::actuators::{POLL, SimWorld};
use super::effects::EffectLog;
use super::world::WorldControl;
use super::world::model::{App, Pod};
use crate::backends::kubernetes::ObjectRef;
use crate::backends::kubernetes::pods::PodState;
use crate::backends::kubernetes::stuck::StuckWatch;
use crate::backends::kubernetes::{
    CREATING_SNAPSHOT, Guide, KubeError, Rev, choose, pre_image, snapshot_name, wording,
};
use crate::engine::{Ended, Failure, Probe};
use crate::plan::{Revision, StepKind};
use crate::sources::SnapshotState;

/// Where a merge patch sets the StatefulSet's replica count and partition.
const REPLICAS: &str = "spec.replicas";
const PARTITION: &str = "spec.updateStrategy.rollingUpdate.partition";

/// The part markers of a step: its template write, its snapshot's creation.
fn template_key(key: &str) -> String {
    format!("{key}/template")
}

fn snapshot_key(key: &str) -> String {
    format!("{key}/snapshot")
}

/// The app's revisions as ControllerRevisions: listed newest first, numbered oldest first.
fn revisions(app: &App) -> Vec<Rev> {
    let n = app.revisions.len();
    app.revisions
        .iter()
        .enumerate()
        .map(|(i, r)| Rev {
            name: r.name.clone(),
            number: (n - i) as i64,
            template: Value::Null,
        })
        .collect()
}

/// A world pod as the real actuator sees a pod object.
fn pod_state(app: &App, pod: &Pod) -> PodState {
    let waiting = if pod.restarting_until.is_some() {
        Some("ContainerCreating")
    } else if pod.crashloop {
        Some("CrashLoopBackOff")
    } else {
        None
    };
    PodState::simulated(
        app.pod_name(pod.ordinal),
        &pod.revision,
        pod.ready(),
        waiting,
        pod.restarts.into(),
    )
}

/// The StatefulSet as an object, with the fields the world models.
fn app_object(app: &App) -> Value {
    json!({
        "metadata": { "name": app.statefulset },
        "spec": {
            "replicas": app.pods.len(),
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": { "partition": app.partition },
            },
        },
    })
}

/// The leaves of a merge patch, as dotted paths (`spec.replicas`) and values.
fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&path, v, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// A whole number for a modelled field; `null` (removed) is its default.
fn count(field: &str, v: &Value, default: u32) -> Result<u32, String> {
    match v {
        Value::Null => Ok(default),
        v => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("{field}: invalid value {v}: must be a whole number")),
    }
}

/// The world controls a merge patch of the app's StatefulSet means: its replicas first,
/// then its partition; fields the world does not model are recorded as such.
fn patch_controls(object: &str, patch: &Value) -> Result<Vec<WorldControl>, String> {
    let mut fields = Vec::new();
    leaves("", patch, &mut fields);
    let mut controls = Vec::new();
    let mut unmodelled = Vec::new();
    for (field, v) in &fields {
        match field.as_str() {
            REPLICAS => controls.insert(0, WorldControl::ScaleApp(count(field, v, 1)?)),
            PARTITION => controls.push(WorldControl::SetAppPartition(count(field, v, 0)?)),
            "" => unmodelled.push("(the whole object)".to_string()),
            _ => unmodelled.push(field.clone()),
        }
    }
    if !unmodelled.is_empty() {
        controls.push(WorldControl::PatchUnmodelled {
            object: object.to_string(),
            fields: unmodelled,
        });
    }
    Ok(controls)
}

/// Sleeps one poll, or less when a stop is requested.
async fn pause(g: &mut Guide<'_>) {
    let stop = &mut *g.stop;
    tokio::select! {
        _ = tokio::time::sleep(POLL) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}

impl<E: EffectLog> SimWorld<E> {
    fn app(&self) -> Result<App, String> {
        self.with_world(|w| w.state().app.clone())
    }

    fn world_time(&self) -> Result<Duration, String> {
        self.with_world(|w| w.elapsed())
    }

    /// Whether `o` is the world app's StatefulSet, the only object of kind and name it has.
    fn is_app(&self, o: &ObjectRef) -> Result<bool, String> {
        self.with_world(|w| o.resource.kind == "StatefulSet" && o.name == w.state().app.statefulset)
    }

    /// Records the marker of a finished step under `key` (once).
    async fn mark_done(&mut self, key: &str) -> Result<(), String> {
        if self.effects.contains(key).await? {
            return Ok(());
        }
        self.apply_recorded(key, Vec::new()).await
    }

    /// `statefulset_rollback` on the world's app, as `kube::rollback` does it on a cluster:
    /// the update revision set back with the partition at the replica count, then lowered
    /// one ordinal at a time as each pod is Ready on it. Applied again with the same key,
    /// it continues from the world's partition.
    pub async fn statefulset_rollback(
        &mut self,
        statefulset: &str,
        to: &Revision,
        g: &mut Guide<'_>,
    ) -> Result<Ended, Failure> {
        let mut at = "the template write".to_string();
        let mut landed = None;
        let r = self
            .roll_back(statefulset, to, g, &mut at, &mut landed)
            .await;
        g.ask(None);
        r.map_err(|e| Failure::after(landed, format!("statefulset/{statefulset}: {e}")))
    }

    async fn roll_back(
        &mut self,
        name: &str,
        to: &Revision,
        g: &mut Guide<'_>,
        at: &mut String,
        landed: &mut Option<String>,
    ) -> Result<Ended, String> {
        let app = self.app()?;
        if app.statefulset != name {
            return Err(KubeError::NotFound(format!("get statefulsets/{name}")).to_string());
        }
        let n = app.pods.len() as u64;
        let template = template_key(g.key);
        let target = if self.effects.contains(&template).await? {
            app.update_revision.clone()
        } else {
            let current = app.update_revision.clone();
            let rev = choose(revisions(&app), name, &current, to).map_err(|e| e.to_string())?;
            let controls = vec![
                WorldControl::SetAppRevision(rev.name.clone()),
                WorldControl::SetAppPartition(n as u32),
            ];
            self.apply_recorded(&template, controls).await?;
            *landed = Some(wording::moved(&rev.name, n, n));
            g.say(wording::template_set(name, &rev.name, &current, n));
            rev.name
        };
        loop {
            let (n, p) = self.with_world(|w| {
                let a = &w.state().app;
                let n = a.pods.len() as u64;
                (n, u64::from(a.partition).min(n))
            })?;
            *at = format!("ordinal {p}");
            *landed = Some(wording::moved(&target, p, n));
            if p < n && !self.wait_for_pod(name, p, &target, g).await? {
                return Ok(Ended::stopped_after(at.clone(), landed.clone()));
            }
            if p == 0 {
                self.mark_done(g.key).await?;
                return Ok(Ended::Complete);
            }
            if g.stop_requested() {
                return Ok(Ended::stopped_after(at.clone(), landed.clone()));
            }
            let key = self
                .fresh_key(&format!("{}/partition-{}", g.key, p - 1))
                .await?;
            let lower = WorldControl::SetAppPartition((p - 1) as u32);
            self.apply_recorded(&key, vec![lower]).await?;
            *landed = Some(wording::moved(&target, p - 1, n));
            g.report(wording::partition_lowered(name, p - 1));
        }
    }

    /// Waits (in world time) until pod `ordinal` is Ready on the update revision. A pod
    /// stuck not Ready on another revision is deleted only after the responder types its
    /// name, as on a cluster. `Ok(false)`: stopped on request.
    async fn wait_for_pod(
        &mut self,
        sts: &str,
        ordinal: u64,
        target: &str,
        g: &mut Guide<'_>,
    ) -> Result<bool, String> {
        let pod_name = format!("{sts}-{ordinal}");
        let mut deadline = self.world_time()? + g.pod_timeout;
        let mut watch = StuckWatch::default();
        loop {
            if g.stop_requested() {
                g.ask(None);
                return Ok(false);
            }
            let (now, update, pod) = self.with_world(|w| {
                let a = &w.state().app;
                let pod = a.pods.iter().find(|p| u64::from(p.ordinal) == ordinal);
                (
                    w.elapsed(),
                    a.update_revision.clone(),
                    pod.map(|p| pod_state(a, p)),
                )
            })?;
            let state = pod
                .as_ref()
                .map_or("absent".to_string(), |p| p.detail.clone());
            // The simulated controller takes a new update revision at once.
            let caught_up = true;
            if watch.observe(g, &pod_name, pod.as_ref(), &update, caught_up, now) {
                return Ok(true);
            }
            g.report(wording::waiting(
                ordinal,
                &pod_name,
                watch.asked().is_some(),
                caught_up,
                target,
                &state,
                &update,
            ));
            // A human is being asked: the pod's timeout waits for them.
            if watch.asked().is_none() && now >= deadline {
                g.ask(None);
                return Err(wording::pod_timeout(
                    &pod_name,
                    &update,
                    g.pod_timeout,
                    &state,
                    pod.as_ref(),
                ));
            }
            let answer = {
                let Guide { stop, answers, .. } = g;
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => None,
                    _ = stop.wait_for(|s| *s) => None,
                    a = answers.recv() => Some(a),
                }
            };
            let answer = match answer {
                Some(Some(a)) => Some(a),
                // No one can answer any more: keep polling at the same pace.
                Some(None) => {
                    pause(g).await;
                    None
                }
                None => None,
            };
            if let (Some((step, typed)), Some(p)) = (answer, watch.asked().cloned())
                && step == g.step
            {
                if typed.trim() != pod_name {
                    g.say(wording::not_deleting(&pod_name, &typed));
                    continue;
                }
                let key = self
                    .fresh_key(&format!("{}/delete-{ordinal}", g.key))
                    .await?;
                let delete = WorldControl::DeletePod {
                    ordinal: ordinal as u32,
                };
                self.apply_recorded(&key, vec![delete]).await?;
                g.say(wording::deleted(&p, &update));
                watch.deleted(g);
                deadline = self.world_time()? + g.pod_timeout;
            }
        }
    }

    /// `scale` of `KIND/NAME`: the world app's StatefulSet is scaled; any other object is
    /// not found, as the API server would say.
    pub async fn scale(
        &mut self,
        object: &str,
        replicas: u32,
        key: &str,
    ) -> Result<Ended, Failure> {
        let o = ObjectRef::parse(object)?;
        if !self.is_app(&o)? {
            let call = format!("patch {}/{}/scale", o.resource.plural, o.name);
            return Err(format!("{object}: {}", KubeError::NotFound(call)).into());
        }
        if !self.effects.contains(key).await? {
            self.apply_recorded(key, vec![WorldControl::ScaleApp(replicas)])
                .await
                .map_err(|e| format!("{object}: {e}"))?;
        }
        Ok(Ended::Complete)
    }

    /// `patch` of the world app's StatefulSet: a JSON merge patch of `spec.replicas` and
    /// the rolling update's partition acts on the world; other fields are recorded as
    /// patched with no modelled effect. Its pre-image is journaled first, as on a cluster,
    /// for `undo = "auto"` (`undo_patch`).
    pub async fn patch(
        &mut self,
        object: &str,
        patch: &Value,
        step: usize,
        key: &str,
    ) -> Result<Ended, Failure> {
        let o = ObjectRef::parse(object)?;
        if !self.is_app(&o)? {
            let call = format!("get {}/{}", o.resource.plural, o.name);
            return Err(format!("{object}: {}", KubeError::NotFound(call)).into());
        }
        if self.effects.contains(key).await? {
            return Ok(Ended::Complete);
        }
        if !self.pre_images.contains_key(key) {
            let image = pre_image(&app_object(&self.app()?), patch);
            self.effects
                .keep_pre_image(step, key, &image)
                .await
                .map_err(|e| wording::pre_image_not_kept(object, &e))?;
            self.pre_images.insert(key.to_string(), image);
        }
        let controls = patch_controls(object, patch).map_err(|e| format!("{object}: {e}"))?;
        self.apply_recorded(key, controls)
            .await
            .map_err(|e| format!("{object}: {e}"))?;
        Ok(Ended::Complete)
    }

    /// `undo = "auto"` of a patch: its journaled pre-image applied back, keyed `undo_key`.
    pub async fn undo_patch(
        &mut self,
        object: &str,
        applied_key: &str,
        undo_key: &str,
    ) -> Result<Ended, Failure> {
        let image = self
            .pre_images
            .get(applied_key)
            .cloned()
            .ok_or_else(|| wording::no_pre_image(object, applied_key))?;
        if !self.effects.contains(undo_key).await? {
            let controls = patch_controls(object, &image).map_err(|e| format!("{object}: {e}"))?;
            self.apply_recorded(undo_key, controls)
                .await
                .map_err(|e| format!("{object}: {e}"))?;
        }
        Ok(Ended::Complete)
    }

    /// `snapshot` of a world volume (the PVC's name), named as on a cluster, awaited
    /// until ready. Applied again with the same key, it waits for the one it took.
    pub async fn snapshot(&mut self, volume: &str, g: &mut Guide<'_>) -> Result<Ended, Failure> {
        let name = snapshot_name(g.key);
        let what = wording::snapshot_of(&name, volume);
        let mut at = CREATING_SNAPSHOT.to_string();
        let r = self.take_snapshot(volume, &name, g, &mut at).await;
        let landed = (at != CREATING_SNAPSHOT).then(|| wording::snapshot_landed(&name));
        r.map_err(|e| Failure::after(landed, format!("{what}: {e}")))
    }

    async fn take_snapshot(
        &mut self,
        volume: &str,
        name: &str,
        g: &mut Guide<'_>,
        at: &mut String,
    ) -> Result<Ended, String> {
        let created = snapshot_key(g.key);
        if !self.effects.contains(&created).await? {
            let exists = self.with_world(|w| w.state().volumes.iter().any(|v| v.name == volume))?;
            if !exists {
                return Err(wording::no_claim(volume));
            }
            let take = WorldControl::TakeSnapshot {
                volume: volume.to_string(),
                name: Some(name.to_string()),
            };
            self.apply_recorded(&created, vec![take]).await?;
            g.say(wording::snapshot_created_note(name, volume));
        }
        *at = wording::snapshot_waiting_at(name);
        loop {
            match self.snapshot_state(volume, 0, Some(name))? {
                Some(SnapshotState::Ready) => {
                    self.mark_done(g.key).await?;
                    return Ok(Ended::Complete);
                }
                Some(SnapshotState::Failed) => return Err("the snapshot failed".into()),
                None => return Err(format!("volumesnapshot {name} is gone")),
                Some(_) => {}
            }
            g.report(wording::snapshot_waiting(name, volume));
            if g.stop_requested() {
                return Ok(Ended::stopped_after(
                    at.clone(),
                    Some(wording::snapshot_landed(name)),
                ));
            }
            pause(g).await;
        }
    }

    /// Whether the kubernetes step keyed `key` happened: its marker is recorded; or part
    /// of it did (a rollback's template write, a snapshot taken but not ready) and applying
    /// it again continues from there.
    pub async fn probe_kube(&mut self, kind: &StepKind, key: &str) -> Probe {
        let part = match kind {
            StepKind::StatefulsetRollback { .. } => Some(template_key(key)),
            StepKind::Snapshot { .. } => Some(snapshot_key(key)),
            _ => None,
        };
        match self.effects.contains(key).await {
            Ok(true) => return Probe::Happened,
            Ok(false) => {}
            Err(e) => return Probe::Unknown(e),
        }
        let Some(part) = part else {
            return Probe::NotHappened;
        };
        match self.effects.contains(&part).await {
            Ok(true) => Probe::Resumable(match kind {
                StepKind::Snapshot { .. } => "waiting for readyToUse".to_string(),
                _ => match self.with_world(|w| {
                    let a = &w.state().app;
                    a.partition.min(a.pods.len() as u32)
                }) {
                    Ok(p) => format!("ordinal {p}"),
                    Err(e) => return Probe::Unknown(e),
                },
            }),
            Ok(false) => Probe::NotHappened,
            Err(e) => Probe::Unknown(e),
        }
    }
}

#[cfg(test)]
mod tests;
