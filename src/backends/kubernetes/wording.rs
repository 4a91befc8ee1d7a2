//! What the kubernetes steps say: their asks, audit notes, progress lines and errors, shared
//! by the real actuators and the drill's, so a drill rehearses the very words of a real run.

use std::time::Duration;

use super::pods::PodState;
use crate::units::fmt_duration;

/// What of a rollback to `target` is in place at partition `p` of `n`.
pub(crate) fn moved(target: &str, p: u64, n: u64) -> String {
    format!(
        "template at {target}, {} of {n} ordinals released",
        n.saturating_sub(p)
    )
}

/// The note once a rollback's template is written.
pub(crate) fn template_set(sts: &str, revision: &str, from: &str, n: u64) -> String {
    format!("statefulset/{sts}: template set to revision {revision} (from {from}), partition {n}")
}

/// The progress line once the partition is lowered to `p`.
pub(crate) fn partition_lowered(sts: &str, p: u64) -> String {
    format!("statefulset/{sts}: partition {p}")
}

/// The ask to delete a pod stuck on another revision than the target.
pub(crate) fn stuck_ask(pod: &PodState) -> String {
    format!(
        "delete pod {} stuck on revision {} ({})",
        pod.name,
        pod.revision_or_unknown(),
        pod.detail
    )
}

/// The progress line while waiting for pod `ordinal`: stuck and asked about, waiting for
/// the controller to take the target (`caught_up` false), or for the pod to be Ready.
pub(crate) fn waiting(
    ordinal: u64,
    pod: &str,
    asked: bool,
    caught_up: bool,
    target: &str,
    state: &str,
    update: &str,
) -> String {
    if asked {
        format!("ordinal {ordinal}: pod {pod} stuck ({state}); type its name to delete it")
    } else if !caught_up {
        format!("ordinal {ordinal}: waiting for the controller to take revision {target}")
    } else {
        format!("ordinal {ordinal}: pod {pod} {state}; waiting for Ready on {update}")
    }
}

/// The note when the confirmation typed is not the pod's name.
pub(crate) fn not_deleting(pod: &str, typed: &str) -> String {
    format!("not deleting pod {pod}: the confirmation typed {typed:?}, not its name")
}

/// The note once a stuck pod is deleted on confirmation.
pub(crate) fn deleted(pod: &PodState, update: &str) -> String {
    format!(
        "deleted pod {} stuck on revision {} ({}), confirmed by typing its name; the controller recreates it on {update}",
        pod.name,
        pod.revision_or_unknown(),
        pod.detail
    )
}

/// The error when pod `pod` is not Ready on `update` within `timeout`.
pub(crate) fn pod_timeout(
    pod: &str,
    update: &str,
    timeout: Duration,
    state: &str,
    on: Option<&PodState>,
) -> String {
    format!(
        "pod {pod} not Ready on revision {update} after {}: {state} (on {})",
        fmt_duration(timeout),
        on.map_or("no revision", |p| p.revision_or_unknown()),
    )
}

/// How a snapshot step names what it makes.
pub(crate) fn snapshot_of(name: &str, volume: &str) -> String {
    format!("volumesnapshot/{name} of pvc/{volume}")
}

/// The note once the VolumeSnapshot is created.
pub(crate) fn snapshot_created_note(name: &str, volume: &str) -> String {
    format!("created {}", snapshot_of(name, volume))
}

/// What of a snapshot step is in place once its VolumeSnapshot exists.
pub(crate) fn snapshot_landed(name: &str) -> String {
    format!("volumesnapshot/{name} created")
}

/// Where a snapshot step is while the VolumeSnapshot is not ready.
pub(crate) fn snapshot_waiting_at(name: &str) -> String {
    format!("waiting for volumesnapshot/{name} to be ready")
}

/// The progress line while the VolumeSnapshot is not ready.
pub(crate) fn snapshot_waiting(name: &str, volume: &str) -> String {
    format!("{}: waiting for readyToUse", snapshot_of(name, volume))
}

/// The error when the claim to snapshot does not exist.
pub(crate) fn no_claim(volume: &str) -> String {
    format!("persistentvolumeclaim {volume} not found")
}

/// The error when a patch's pre-image cannot be journaled (the patch is not written).
pub(crate) fn pre_image_not_kept(object: &str, why: &str) -> String {
    format!("{object}: cannot journal its pre-image, not patching: {why}")
}

/// The error of an automatic undo with no pre-image to write back.
pub(crate) fn no_pre_image(object: &str, key: &str) -> String {
    format!("{object}: no pre-image was journaled for {key}; restore it by hand")
}
