//! A StatefulSet controller simulation: ControllerRevisions per template, pods labelled
//! with their revision, rolling updates by partition, and the kubernetes#67250 behaviour.
//!
//! Pods whose image is in `broken_images` crashloop and never become Ready. Like the real
//! controller with the OrderedReady policy, this one replaces a pod on the wrong revision
//! only when every pod is Ready, so a pod crashlooping on a broken revision stays until
//! someone deletes it, even after the template is reverted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Shared;
use super::store::{KINDS, Kind, State};

/// How the simulated pods behave.
#[derive(Clone, Debug)]
pub struct StsSim {
    /// How long a new pod takes to become Ready.
    pub ready_after: Duration,
    /// Images whose pods crashloop (Running, not Ready, restarts climbing).
    pub broken_images: Vec<String>,
}

impl Default for StsSim {
    fn default() -> Self {
        StsSim {
            ready_after: Duration::from_millis(300),
            broken_images: Vec::new(),
        }
    }
}

const TICK: Duration = Duration::from_millis(50);

fn kind(plural: &str) -> &'static Kind {
    KINDS.iter().find(|k| k.plural == plural).unwrap()
}

pub async fn run(shared: Arc<Shared>, ns: String, name: String, sim: StsSim) {
    // When each pod (by name and uid) was created, for its readiness and restarts.
    let mut born: HashMap<String, Instant> = HashMap::new();
    loop {
        shared.with(|s| reconcile(s, &ns, &name, &sim, &mut born));
        tokio::time::sleep(TICK).await;
    }
}

/// A stable short hash of a template (FNV-1a of its JSON).
fn hash(template: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in template.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:010x}", h & 0xff_ffff_ffff)
}

fn image(template: &Value) -> &str {
    template["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or("")
}

fn reconcile(
    s: &mut State,
    ns: &str,
    name: &str,
    sim: &StsSim,
    born: &mut HashMap<String, Instant>,
) {
    let Some(sts) = s.get("statefulsets", ns, name).cloned() else {
        return;
    };
    let template = sts["spec"]["template"].clone();
    let update = format!("{name}-{}", hash(&template));
    let revisions: Vec<Value> = s
        .list("controllerrevisions", Some(ns))
        .into_iter()
        .filter(|r| r["metadata"]["labels"]["ebb.test/statefulset"] == json!(name))
        .collect();
    let top = revisions
        .iter()
        .filter_map(|r| r["revision"].as_i64())
        .max()
        .unwrap_or(0);
    match revisions
        .iter()
        .find(|r| r["metadata"]["name"] == json!(update))
    {
        None => {
            let revision = json!({
                "apiVersion": "apps/v1", "kind": "ControllerRevision",
                "metadata": {
                    "name": update, "namespace": ns,
                    "labels": { "ebb.test/statefulset": name, "controller.kubernetes.io/hash": hash(&template) },
                    "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "StatefulSet", "name": name,
                        "uid": sts["metadata"]["uid"], "controller": true }],
                },
                "data": { "spec": { "template": template } },
                "revision": top + 1,
            });
            s.store(kind("controllerrevisions"), ns, revision);
        }
        // Going back to an older template makes its revision the newest again.
        Some(r) if r["revision"].as_i64() != Some(top) => {
            let mut r = r.clone();
            r["revision"] = json!(top + 1);
            s.store(kind("controllerrevisions"), ns, r);
        }
        Some(_) => {}
    }
    let current = sts["status"]["currentRevision"]
        .as_str()
        .unwrap_or(&update)
        .to_string();
    let replicas = sts["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
    let partition = sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
        .as_i64()
        .unwrap_or(0);
    let template_of = |s: &State, revision: &str| -> Value {
        s.get("controllerrevisions", ns, revision)
            .map(|r| r["data"]["spec"]["template"].clone())
            .unwrap_or_else(|| template.clone())
    };
    let pod_name = |i: i64| format!("{name}-{i}");

    // Pods' readiness and restarts follow their age and image.
    let now = Instant::now();
    for i in 0..replicas {
        let Some(pod) = s.get("pods", ns, &pod_name(i)).cloned() else {
            continue;
        };
        let key = format!(
            "{}/{}",
            pod_name(i),
            pod["metadata"]["uid"].as_str().unwrap_or("")
        );
        let age = now.duration_since(*born.entry(key).or_insert(now));
        let broken = sim.broken_images.iter().any(|b| b == image(&pod));
        let ready = !broken && age >= sim.ready_after;
        let restarts = if broken {
            (age.as_millis() / 500) as i64
        } else {
            0
        };
        let status = pod_status(ready, broken, restarts);
        if pod["status"] != status {
            let mut pod = pod;
            pod["status"] = status;
            s.store(kind("pods"), ns, pod);
        }
    }

    let pods: Vec<Option<Value>> = (0..replicas)
        .map(|i| s.get("pods", ns, &pod_name(i)).cloned())
        .collect();
    let is_ready = |p: &Value| p["status"]["conditions"][0]["status"] == json!("True");
    let revision_of = |p: &Value| {
        p["metadata"]["labels"]["controller-revision-hash"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let expected = |i: i64| {
        if i >= partition {
            update.clone()
        } else {
            current.clone()
        }
    };

    // Scale down: the highest surplus pod goes first.
    let surplus: Vec<Value> = s
        .list("pods", Some(ns))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["ebb.test/statefulset"] == json!(name))
        .filter(|p| {
            p["metadata"]["name"]
                .as_str()
                .and_then(|n| n.rsplit('-').next())
                .and_then(|o| o.parse::<i64>().ok())
                .is_some_and(|o| o >= replicas)
        })
        .collect();
    if let Some(p) = surplus.last() {
        let pod = p["metadata"]["name"].as_str().unwrap_or("").to_string();
        s.remove("pods", ns, &pod);
    } else if let Some(i) = pods.iter().position(Option::is_none) {
        // OrderedReady: a missing pod is created once every lower ordinal is Ready.
        if pods[..i].iter().flatten().all(is_ready) {
            let i = i as i64;
            let revision = expected(i);
            let mut pod_template = template_of(s, &revision);
            let mut labels = pod_template["metadata"]["labels"].clone();
            if !labels.is_object() {
                labels = json!({});
            }
            labels["controller-revision-hash"] = json!(revision);
            labels["statefulset.kubernetes.io/pod-name"] = json!(pod_name(i));
            labels["apps.kubernetes.io/pod-index"] = json!(i.to_string());
            labels["ebb.test/statefulset"] = json!(name);
            let mut spec = pod_template["spec"].take();
            spec["nodeName"] = json!("node-1");
            let pod = json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {
                    "name": pod_name(i), "namespace": ns, "labels": labels,
                    "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "StatefulSet", "name": name,
                        "uid": sts["metadata"]["uid"], "controller": true }],
                },
                "spec": spec,
                "status": pod_status(false, false, 0),
            });
            s.store(kind("pods"), ns, pod);
        }
    } else if pods.iter().flatten().all(is_ready) {
        // Rolling update: the highest ordinal on the wrong revision is replaced.
        if let Some(i) = (0..replicas).rev().find(|i| {
            pods[*i as usize]
                .as_ref()
                .is_some_and(|p| revision_of(p) != expected(*i))
        }) {
            s.remove("pods", ns, &pod_name(i));
        }
    }

    // Status, written only when it changes.
    let pods: Vec<Value> = (0..replicas)
        .filter_map(|i| s.get("pods", ns, &pod_name(i)).cloned())
        .collect();
    let ready = pods.iter().filter(|p| is_ready(p)).count();
    let updated = pods.iter().filter(|p| revision_of(p) == update).count();
    let on_current = pods.iter().filter(|p| revision_of(p) == current).count();
    let done = updated as i64 == replicas && ready as i64 == replicas;
    let status = json!({
        "observedGeneration": sts["metadata"]["generation"],
        "replicas": pods.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "currentReplicas": if done { updated } else { on_current },
        "updatedReplicas": updated,
        "currentRevision": if done { update.clone() } else { current.clone() },
        "updateRevision": update,
        "collisionCount": 0,
    });
    if sts["status"] != status {
        let mut sts = s.get("statefulsets", ns, name).cloned().unwrap_or(sts);
        sts["status"] = status;
        s.store(kind("statefulsets"), ns, sts);
    }
}

fn pod_status(ready: bool, broken: bool, restarts: i64) -> Value {
    let state = if broken {
        json!({ "waiting": { "reason": "CrashLoopBackOff", "message": "back-off restarting failed container" } })
    } else if ready {
        json!({ "running": { "startedAt": "2026-12-01T00:00:00Z" } })
    } else {
        json!({ "waiting": { "reason": "ContainerCreating" } })
    };
    json!({
        "phase": if ready || broken { "Running" } else { "Pending" },
        "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" } }],
        "containerStatuses": [{
            "name": "main", "ready": ready, "restartCount": restarts, "image": "", "imageID": "",
            "state": state,
        }],
    })
}
