//! Lean rows: the few fields the panes show, cut from each watched object as it arrives,
//! so thousands of pods and claims cost a few hundred bytes each, not a full object.

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{Event as KubeEvent, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::DynamicObject;

use crate::sources::{Severity, SnapshotState};
use crate::text::DisplayText;
use crate::time::Timestamp;

/// The label a StatefulSet puts on each pod: the revision the pod runs.
pub const REVISION_LABEL: &str = "controller-revision-hash";

#[derive(Clone, Debug, PartialEq)]
pub struct StsRow {
    pub replicas: u32,
    pub ready: u32,
    pub updated: u32,
    pub current_revision: Box<str>,
    pub update_revision: Box<str>,
    pub partition: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PodRow {
    /// The StatefulSet that owns it, if one does.
    pub owner: Option<Box<str>>,
    pub revision: Box<str>,
    pub phase: Box<str>,
    pub ready: bool,
    pub restarts: u32,
    /// A container's waiting or terminated reason (`CrashLoopBackOff`), when not ready.
    pub reason: Option<Box<str>>,
    pub node: Option<Box<str>>,
    /// Claims it mounts (usually none or one).
    pub claims: Box<[Box<str>]>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClaimRow {
    pub phase: Box<str>,
    /// `status.capacity.storage`, else the request.
    pub capacity: u64,
    /// Latest kubelet reading: used, capacity, when.
    pub usage: Option<(u64, u64, Timestamp)>,
    pub growth: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotRow {
    pub claim: Box<str>,
    pub state: SnapshotState,
    pub created: Timestamp,
}

/// A revision's number, so a pane can say `rev 7` as well as its hash.
#[derive(Clone, Debug, PartialEq)]
pub struct RevisionRow {
    pub owner: Option<Box<str>>,
    pub revision: i64,
}

fn boxed(s: Option<&String>) -> Box<str> {
    s.map(String::as_str).unwrap_or("").into()
}

fn count(v: Option<i32>) -> u32 {
    u32::try_from(v.unwrap_or(0)).unwrap_or(0)
}

fn millis(t: &k8s_openapi::jiff::Timestamp) -> Timestamp {
    Timestamp(t.as_millisecond())
}

pub fn sts_row(s: &StatefulSet) -> StsRow {
    let spec = &s.spec;
    let status = s.status.as_ref();
    StsRow {
        replicas: count(spec.replicas.or(Some(1))),
        ready: count(status.and_then(|s| s.ready_replicas)),
        updated: count(status.and_then(|s| s.updated_replicas)),
        current_revision: boxed(status.and_then(|s| s.current_revision.as_ref())),
        update_revision: boxed(status.and_then(|s| s.update_revision.as_ref())),
        partition: count(
            spec.update_strategy
                .as_ref()
                .and_then(|u| u.rolling_update.as_ref())
                .and_then(|r| r.partition),
        ),
    }
}

pub fn pod_row(p: &Pod) -> PodRow {
    let meta = &p.metadata;
    let status = p.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let containers = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or(&[]);
    let restarts = containers
        .iter()
        .map(|c| u32::try_from(c.restart_count).unwrap_or(0))
        .sum();
    let reason = containers.iter().find_map(|c| {
        let state = c.state.as_ref()?;
        state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.clone())
            .or_else(|| state.terminated.as_ref().and_then(|t| t.reason.clone()))
    });
    let claims = p
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .map(|vs| {
            vs.iter()
                .filter_map(|v| v.persistent_volume_claim.as_ref())
                .map(|c| Box::from(c.claim_name.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let phase: Box<str> = if meta.deletion_timestamp.is_some() {
        "Terminating".into()
    } else {
        boxed(status.and_then(|s| s.phase.as_ref()))
    };
    PodRow {
        owner: meta
            .owner_references
            .as_ref()
            .and_then(|os| os.iter().find(|o| o.kind == "StatefulSet"))
            .map(|o| o.name.as_str().into()),
        revision: boxed(meta.labels.as_ref().and_then(|l| l.get(REVISION_LABEL))),
        phase,
        ready,
        restarts,
        reason: if ready { None } else { reason.map(Box::from) },
        node: p
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .map(Box::from),
        claims,
    }
}

/// `10Gi`, `500M`, `1e3` as bytes; `None` when it is not a size.
pub fn quantity_bytes(q: &Quantity) -> Option<u64> {
    let s = q.0.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let value: f64 = num.parse().ok()?;
    let mult: f64 = match suffix {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "m" => 1e-3,
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse().ok()?),
        _ => return None,
    };
    let bytes = value * mult;
    (bytes.is_finite() && bytes >= 0.0).then(|| bytes.round() as u64)
}

pub fn claim_row(c: &PersistentVolumeClaim) -> ClaimRow {
    let status = c.status.as_ref();
    let capacity = status
        .and_then(|s| s.capacity.as_ref())
        .and_then(|m| m.get("storage"))
        .or_else(|| {
            c.spec
                .as_ref()
                .and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref())
                .and_then(|m| m.get("storage"))
        })
        .and_then(quantity_bytes)
        .unwrap_or(0);
    ClaimRow {
        phase: boxed(status.and_then(|s| s.phase.as_ref())),
        capacity,
        usage: None,
        growth: 0.0,
    }
}

/// A VolumeSnapshot (`snapshot.storage.k8s.io/v1`): ready when `status.readyToUse`, failed
/// when `status.error` is set, else pending.
pub fn snapshot_row(o: &DynamicObject) -> SnapshotRow {
    let status = o.data.get("status");
    let ready = status
        .and_then(|s| s.get("readyToUse"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let failed = status
        .and_then(|s| s.get("error"))
        .is_some_and(|e| !e.is_null());
    let state = if ready {
        SnapshotState::Ready
    } else if failed {
        SnapshotState::Failed
    } else {
        SnapshotState::Pending
    };
    let claim = o
        .data
        .get("spec")
        .and_then(|s| s.get("source"))
        .and_then(|s| s.get("persistentVolumeClaimName"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    SnapshotRow {
        claim: claim.into(),
        state,
        created: o
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(Timestamp(0), |t| millis(&t.0)),
    }
}

pub fn revision_row(r: &ControllerRevision) -> RevisionRow {
    RevisionRow {
        owner: r
            .metadata
            .owner_references
            .as_ref()
            .and_then(|os| os.iter().find(|o| o.kind == "StatefulSet"))
            .map(|o| o.name.as_str().into()),
        revision: r.revision.unwrap_or(0),
    }
}

/// The kinds whose Events the Timeline shows.
pub const EVENT_KINDS: [&str; 5] = [
    "StatefulSet",
    "Pod",
    "PersistentVolumeClaim",
    "VolumeSnapshot",
    "ControllerRevision",
];

/// An Event about one of the watched kinds, as a Timeline line: `Pod/orders-1: BackOff: …`.
pub fn event_line(e: &KubeEvent) -> Option<(Timestamp, Severity, DisplayText)> {
    let kind = e.involved_object.kind.as_deref()?;
    if !EVENT_KINDS.contains(&kind) {
        return None;
    }
    let name = e.involved_object.name.as_deref().unwrap_or("?");
    let severity = if e.type_.as_deref() == Some("Warning") {
        Severity::Warn
    } else {
        Severity::Info
    };
    let at = e
        .last_timestamp
        .as_ref()
        .map(|t| millis(&t.0))
        .or_else(|| e.event_time.as_ref().map(|t| millis(&t.0)))
        .unwrap_or_else(Timestamp::now);
    let text = format!(
        "{kind}/{name}: {}: {}",
        e.reason.as_deref().unwrap_or(""),
        e.message.as_deref().unwrap_or("")
    );
    Some((at, severity, DisplayText::new(&text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_in_binary_and_decimal_units() {
        let q = |s: &str| quantity_bytes(&Quantity(s.into()));
        assert_eq!(q("10Gi"), Some(10 << 30));
        assert_eq!(q("500M"), Some(500_000_000));
        assert_eq!(q("1e3"), Some(1000));
        assert_eq!(q("2048"), Some(2048));
        assert_eq!(q("lots"), None);
    }

    #[test]
    fn a_pod_row_keeps_readiness_restarts_revision_and_claims() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db-1", "labels": {"controller-revision-hash": "db-7d9f"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "u"}]},
            "spec": {"nodeName": "n1", "containers": [{"name": "c"}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-1"}}]},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "False"}],
                       "containerStatuses": [{"name": "c", "image": "i", "imageID": "", "ready": false, "restartCount": 4,
                                              "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
        }))
        .unwrap();
        let row = pod_row(&pod);
        assert_eq!(row.owner.as_deref(), Some("db"));
        assert_eq!(&*row.revision, "db-7d9f");
        assert!(!row.ready);
        assert_eq!(row.restarts, 4);
        assert_eq!(row.reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(row.node.as_deref(), Some("n1"));
        assert_eq!(&*row.claims, &[Box::from("data-db-1")]);
    }

    #[test]
    fn snapshot_readiness_from_status() {
        let snap = |status: serde_json::Value| {
            let o: DynamicObject = serde_json::from_value(serde_json::json!({
                "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                "metadata": {"name": "s", "creationTimestamp": "2026-01-01T00:00:00Z"},
                "spec": {"source": {"persistentVolumeClaimName": "data-db-0"}},
                "status": status
            }))
            .unwrap();
            snapshot_row(&o)
        };
        assert_eq!(
            snap(serde_json::json!({"readyToUse": true})).state,
            SnapshotState::Ready
        );
        assert_eq!(
            snap(serde_json::json!({"readyToUse": false})).state,
            SnapshotState::Pending
        );
        let failed = snap(serde_json::json!({"readyToUse": false, "error": {"message": "quota"}}));
        assert_eq!(failed.state, SnapshotState::Failed);
        assert_eq!(&*failed.claim, "data-db-0");
        assert_eq!(failed.created, Timestamp::from_secs(1_767_225_600));
    }
}
