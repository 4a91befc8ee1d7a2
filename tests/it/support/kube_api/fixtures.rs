//! Objects for the loopback API server, shaped as the real API server returns them.

use serde_json::{Value, json};

/// A StatefulSet with a RollingUpdate strategy (partition 0) and one container.
pub fn statefulset(ns: &str, name: &str, replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": { "name": name, "namespace": ns, "labels": { "app": name } },
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "podManagementPolicy": "OrderedReady",
            "selector": { "matchLabels": { "app": name } },
            "updateStrategy": { "type": "RollingUpdate", "rollingUpdate": { "partition": 0 } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{ "name": "main", "image": image }] },
            },
            "volumeClaimTemplates": [{
                "metadata": { "name": "data" },
                "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "10Gi" } } },
            }],
        },
    })
}

/// The StatefulSet's template with `image` (a new revision once applied).
pub fn with_image(mut sts: Value, image: &str) -> Value {
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
    sts
}

/// A PersistentVolumeClaim of `capacity` (e.g. "10Gi") in `phase` (Bound, Pending, Lost).
pub fn pvc(ns: &str, name: &str, capacity: &str, phase: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": { "name": name, "namespace": ns },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": { "requests": { "storage": capacity } },
            "volumeName": format!("pv-{name}"),
        },
        "status": { "phase": phase, "capacity": { "storage": capacity }, "accessModes": ["ReadWriteOnce"] },
    })
}

/// A Running pod on `node` mounting `claims`, Ready or not, with `restarts`.
pub fn pod(ns: &str, name: &str, node: &str, claims: &[&str], ready: bool, restarts: i64) -> Value {
    let volumes: Vec<Value> = claims
        .iter()
        .map(|c| json!({ "name": c, "persistentVolumeClaim": { "claimName": c } }))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "namespace": ns, "labels": { "app": "ebb-test" } },
        "spec": { "nodeName": node, "containers": [{ "name": "main", "image": "busybox" }], "volumes": volumes },
        "status": {
            "phase": "Running",
            "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" } }],
            "containerStatuses": [{ "name": "main", "ready": ready, "restartCount": restarts,
                "image": "busybox", "imageID": "", "state": { "running": {} } }],
        },
    })
}

pub fn node(name: &str) -> Value {
    json!({ "apiVersion": "v1", "kind": "Node", "metadata": { "name": name } })
}

/// A VolumeSnapshot of `pvc`, ready or not.
pub fn volume_snapshot(ns: &str, name: &str, pvc: &str, ready: bool) -> Value {
    json!({
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
        "metadata": { "name": name, "namespace": ns },
        "spec": { "source": { "persistentVolumeClaimName": pvc } },
        "status": { "readyToUse": ready },
    })
}

/// A kubelet stats summary for `node` with one pod per volume: `(ns, pvc, used, capacity)`.
pub fn stats_summary(node: &str, volumes: &[(&str, &str, u64, u64)]) -> Value {
    let pods: Vec<Value> = volumes
        .iter()
        .enumerate()
        .map(|(i, (ns, pvc, used, capacity))| {
            json!({
                "podRef": { "name": format!("pod-{i}"), "namespace": ns, "uid": format!("uid-{i}") },
                "volume": [{
                    "name": "data", "usedBytes": used, "capacityBytes": capacity,
                    "availableBytes": capacity.saturating_sub(*used),
                    "pvcRef": { "name": pvc, "namespace": ns },
                }],
            })
        })
        .collect();
    json!({ "node": { "nodeName": node }, "pods": pods })
}

/// A core v1 Event about `kind/name`.
pub fn event(ns: &str, name: &str, kind: &str, object: &str, reason: &str, message: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": { "name": name, "namespace": ns },
        "involvedObject": { "kind": kind, "name": object, "namespace": ns },
        "reason": reason, "message": message, "type": "Warning",
        "firstTimestamp": "2026-12-01T00:00:00Z", "lastTimestamp": "2026-12-01T00:00:00Z", "count": 1,
    })
}
