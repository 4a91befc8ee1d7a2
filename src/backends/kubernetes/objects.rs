//! `scale` (the scale subresource), `patch` (a JSON merge patch whose pre-image is journaled
//! first, restored by `undo = "auto"`) and `snapshot` (a VolumeSnapshot of a PVC, awaited).

use std::collections::BTreeMap;

use kube::discovery::ApiResource;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::api::{Cluster, KubeError};
use super::merge::{pre_image, with_annotation};
use super::{Guide, STEP_ANNOTATION, settle, wording};
use crate::backends::kubernetes::{ObjectRef, Resource};
use crate::engine::{Ended, Failure, PreImageLog, Probe};

fn resource_of(object: &str) -> Result<(ApiResource, String), String> {
    let o = ObjectRef::parse(object)?;
    Ok((o.resource.api_resource(), o.name))
}

fn marked(o: &Value, key: &str) -> bool {
    o["metadata"]["annotations"][STEP_ANNOTATION].as_str() == Some(key)
}

/// `spec.replicas` of `object` through its `/scale` subresource, then the step's annotation
/// on the object (after: an interrupted step is probed as not happened and scales again).
pub async fn scale(c: &Cluster, object: &str, replicas: u32, key: &str) -> Result<Ended, Failure> {
    let (r, name) = resource_of(object)?;
    let mut landed = None;
    let run = async {
        c.scale(&r, &name, replicas).await?;
        landed = Some(format!("replicas set to {replicas}"));
        let mark = with_annotation(&json!({}), STEP_ANNOTATION, key);
        c.merge_patch(&r, &name, &mark).await?;
        Ok(Ended::Complete)
    };
    let r = run.await;
    let at = if landed.is_some() {
        "the step's annotation"
    } else {
        "the scale write"
    };
    settle(at, object, landed, r)
}

/// Applies `patch` to `object` with the step's annotation. The pre-image of the fields it
/// touches is journaled (durable) before the write, once per effect key: a retry after an
/// inconclusive write keeps the first one.
pub async fn patch<E: PreImageLog>(
    c: &Cluster,
    object: &str,
    patch: &Value,
    step: usize,
    key: &str,
    pre_images: &mut BTreeMap<String, Value>,
    log: &mut E,
) -> Result<Ended, Failure> {
    let (r, name) = resource_of(object)?;
    let current = match c.get(&r, &name).await {
        Ok(v) => v,
        Err(e) => return settle("reading the object", object, None, Err(e)),
    };
    if marked(&current, key) {
        return Ok(Ended::Complete);
    }
    if !pre_images.contains_key(key) {
        let image = pre_image(&current, patch);
        log.keep_pre_image(step, key, &image)
            .await
            .map_err(|e| wording::pre_image_not_kept(object, &e))?;
        pre_images.insert(key.to_string(), image);
    }
    let write = c
        .merge_patch(&r, &name, &with_annotation(patch, STEP_ANNOTATION, key))
        .await;
    settle(
        "the patch write",
        object,
        None,
        write.map(|_| Ended::Complete),
    )
}

/// `undo = "auto"` of a patch: its journaled pre-image written back as a merge patch
/// (fields absent before are removed), marked with the undo's key.
pub async fn undo_patch(
    c: &Cluster,
    object: &str,
    applied_key: &str,
    undo_key: &str,
    pre_images: &BTreeMap<String, Value>,
) -> Result<Ended, Failure> {
    let (r, name) = resource_of(object)?;
    let image = pre_images
        .get(applied_key)
        .ok_or_else(|| wording::no_pre_image(object, applied_key))?;
    let run = async {
        let current = c.get(&r, &name).await?;
        if !marked(&current, undo_key) {
            c.merge_patch(
                &r,
                &name,
                &with_annotation(image, STEP_ANNOTATION, undo_key),
            )
            .await?;
        }
        Ok(Ended::Complete)
    };
    settle("the restoring write", object, None, run.await)
}

/// The VolumeSnapshot name of an effect: the step's id and a hash of its key, so a retry
/// of the same effect finds the same object.
pub fn snapshot_name(key: &str) -> String {
    let step = key.split('/').nth(1).unwrap_or("snapshot");
    let mut slug: String = step
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    slug = slug.trim_matches('-').to_string();
    let hash = hex::encode(Sha256::digest(key.as_bytes()));
    format!("ebb-{slug}-{}", &hash[..10])
}

fn volume_snapshots() -> ApiResource {
    match Resource::of_kind("volumesnapshot") {
        Some(r) => r.api_resource(),
        None => ApiResource {
            group: "snapshot.storage.k8s.io".into(),
            version: "v1".into(),
            api_version: "snapshot.storage.k8s.io/v1".into(),
            kind: "VolumeSnapshot".into(),
            plural: "volumesnapshots".into(),
        },
    }
}

fn claims() -> ApiResource {
    match Resource::of_kind("pvc") {
        Some(r) => r.api_resource(),
        None => ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: "PersistentVolumeClaim".into(),
            plural: "persistentvolumeclaims".into(),
        },
    }
}

/// Where a snapshot step is before its VolumeSnapshot exists.
pub(crate) const CREATING_SNAPSHOT: &str = "creating the snapshot";

/// Creates a VolumeSnapshot of claim `volume` (or finds the one this effect created) and
/// waits until it is ready to use.
/// Once the snapshot exists, stopping or failing says so (a rollback runs the undo).
pub async fn snapshot(c: &Cluster, volume: &str, g: &mut Guide<'_>) -> Result<Ended, Failure> {
    let name = snapshot_name(g.key);
    let what = wording::snapshot_of(&name, volume);
    let mut at = CREATING_SNAPSHOT.to_string();
    let r = take_snapshot(c, volume, &name, g, &mut at).await;
    let landed = (at != CREATING_SNAPSHOT).then(|| wording::snapshot_landed(&name));
    settle(&at, &what, landed, r)
}

async fn take_snapshot(
    c: &Cluster,
    volume: &str,
    name: &str,
    g: &mut Guide<'_>,
    at: &mut String,
) -> Result<Ended, KubeError> {
    let vs = volume_snapshots();
    if c.get_opt(&claims(), volume).await?.is_none() {
        return Err(KubeError::Failed(wording::no_claim(volume)));
    }
    let object = json!({
        "apiVersion": vs.api_version,
        "kind": vs.kind,
        "metadata": {
            "name": name,
            "annotations": { STEP_ANNOTATION: g.key },
            "labels": { "app.kubernetes.io/managed-by": "ebb" },
        },
        "spec": { "source": { "persistentVolumeClaimName": volume } },
    });
    match c.create(&vs, object).await {
        Ok(_) => g.say(wording::snapshot_created_note(name, volume)),
        Err(KubeError::Exists(_)) => {
            let found = c.get(&vs, name).await?;
            if !marked(&found, g.key) {
                return Err(KubeError::Failed(format!(
                    "a VolumeSnapshot named {name} exists and was not made by this step"
                )));
            }
        }
        Err(e) => return Err(e),
    }
    *at = wording::snapshot_waiting_at(name);
    loop {
        let found = c.get(&vs, name).await?;
        let status = &found["status"];
        if status["readyToUse"].as_bool() == Some(true) {
            return Ok(Ended::Complete);
        }
        if let Some(msg) = status["error"]["message"].as_str() {
            return Err(KubeError::Failed(format!("the snapshot failed: {msg}")));
        }
        g.report(wording::snapshot_waiting(name, volume));
        if g.stop_requested() {
            return Ok(Ended::stopped_after(
                at.clone(),
                Some(wording::snapshot_landed(name)),
            ));
        }
        g.pause().await;
    }
}

/// Whether the write keyed `key` happened: the object carries the key in its annotation.
pub async fn probe_annotated(c: &Cluster, object: &str, key: &str) -> Probe {
    let (r, name) = match resource_of(object) {
        Ok(x) => x,
        Err(e) => return Probe::Unknown(e),
    };
    match c.get_opt(&r, &name).await {
        Ok(Some(o)) if marked(&o, key) => Probe::Happened,
        Ok(_) => Probe::NotHappened,
        Err(e) => Probe::Unknown(e.to_string()),
    }
}

/// Whether the snapshot keyed `key` was created: the VolumeSnapshot named after the key
/// exists with its annotation (ready or not: running the step again waits for it).
pub async fn probe_snapshot(c: &Cluster, key: &str) -> Probe {
    match c.get_opt(&volume_snapshots(), &snapshot_name(key)).await {
        Ok(Some(o)) if marked(&o, key) && o["status"]["readyToUse"] == true => Probe::Happened,
        Ok(Some(o)) if marked(&o, key) => Probe::Resumable("waiting for readyToUse".into()),
        Ok(_) => Probe::NotHappened,
        Err(e) => Probe::Unknown(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn snapshot_names_are_dns_labels_stable_per_key() {
        let a = super::snapshot_name("r-20261201/Snap_Orders DB");
        assert!(a.starts_with("ebb-snap-orders-db-"), "{a}");
        assert!(a.len() <= 63);
        assert_eq!(a, super::snapshot_name("r-20261201/Snap_Orders DB"));
        assert_ne!(a, super::snapshot_name("r-20261202/Snap_Orders DB"));
    }
}
