//! What a StatefulSet's pod is doing, read from its object: Ready or not, on which
//! revision (`controller-revision-hash`), and why not (waiting reason, restarts).

use serde_json::Value;

/// The label the StatefulSet controller puts on each pod: the revision it runs.
pub const REVISION_LABEL: &str = "controller-revision-hash";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodState {
    pub name: String,
    pub uid: Option<String>,
    pub revision: Option<String>,
    pub ready: bool,
    /// Being deleted (graceful termination): the controller replaces it after.
    pub terminating: bool,
    /// `CrashLoopBackOff, 6 restarts`, `Running, not ready`, `Pending`.
    pub detail: String,
}

impl PodState {
    pub fn of(pod: &Value) -> PodState {
        let meta = &pod["metadata"];
        let status = &pod["status"];
        let ready = status["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        });
        let containers = status["containerStatuses"].as_array();
        let restarts: u64 = containers
            .map(|cs| cs.iter().filter_map(|c| c["restartCount"].as_u64()).sum())
            .unwrap_or(0);
        let waiting = containers.and_then(|cs| {
            cs.iter()
                .find_map(|c| c["state"]["waiting"]["reason"].as_str())
                .map(str::to_string)
        });
        let phase = status["phase"].as_str().unwrap_or("Unknown");
        PodState {
            name: meta["name"].as_str().unwrap_or("").to_string(),
            uid: meta["uid"].as_str().map(str::to_string),
            revision: meta["labels"][REVISION_LABEL].as_str().map(str::to_string),
            ready,
            terminating: !meta["deletionTimestamp"].is_null(),
            detail: detail(waiting, ready, phase, restarts),
        }
    }

    /// A pod of the drill world, described as its object would be: `waiting` is its
    /// container's waiting reason (`ContainerCreating`, `CrashLoopBackOff`).
    pub fn simulated(
        name: String,
        revision: &str,
        ready: bool,
        waiting: Option<&str>,
        restarts: u64,
    ) -> PodState {
        PodState {
            name,
            uid: None,
            revision: Some(revision.to_string()),
            ready,
            terminating: false,
            detail: detail(waiting.map(str::to_string), ready, "Running", restarts),
        }
    }

    pub fn on(&self, revision: &str) -> bool {
        self.revision.as_deref() == Some(revision)
    }

    pub fn revision_or_unknown(&self) -> &str {
        self.revision.as_deref().unwrap_or("an unknown revision")
    }
}

/// `CrashLoopBackOff, 6 restarts`, `Running, not ready`, `Pending`.
fn detail(waiting: Option<String>, ready: bool, phase: &str, restarts: u64) -> String {
    let mut detail = match (waiting, ready) {
        (Some(w), _) => w,
        (None, true) => "Ready".to_string(),
        (None, false) if phase == "Running" => "Running, not ready".to_string(),
        (None, false) => phase.to_string(),
    };
    if restarts > 0 {
        let s = if restarts == 1 { "" } else { "s" };
        detail.push_str(&format!(", {restarts} restart{s}"));
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_crashlooping_pod_says_why_and_how_often() {
        let pod = json!({
            "metadata": { "name": "db-2", "uid": "u1", "labels": { "controller-revision-hash": "db-7c9f" } },
            "status": {
                "phase": "Running",
                "conditions": [{ "type": "Ready", "status": "False" }],
                "containerStatuses": [{ "restartCount": 6, "state": { "waiting": { "reason": "CrashLoopBackOff" } } }]
            }
        });
        let s = PodState::of(&pod);
        assert!(!s.ready && s.on("db-7c9f") && !s.terminating);
        assert_eq!(s.detail, "CrashLoopBackOff, 6 restarts");
        assert_eq!(s.uid.as_deref(), Some("u1"));
    }

    #[test]
    fn a_ready_pod_is_ready() {
        let pod = json!({
            "metadata": { "name": "db-0", "labels": { "controller-revision-hash": "db-5d8b" } },
            "status": { "phase": "Running", "conditions": [{ "type": "Ready", "status": "True" }] }
        });
        let s = PodState::of(&pod);
        assert!(s.ready);
        assert_eq!(s.detail, "Ready");
    }
}
