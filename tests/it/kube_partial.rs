//! A `statefulset_rollback` stopped or failing once its template is written is undone by
//! a rollback (loopback Kubernetes API server).

use std::time::Duration;

use serde_json::{Value, json};

use crate::kube_run::{LONG, NS, finished, partitions, plan, rolled_out, start};
use crate::support::kube_api::{Fault, KubeApi, StsSim};

/// The rollback, and as its undo a write the test can see (a marker on a ConfigMap).
fn steps(on_failure: &str) -> String {
    format!(
        r#"[[step]]
id = "rollback-db"
kind = "statefulset_rollback"
target = "k8s"
statefulset = "orders-db"
to_revision = "previous"
timeout = "90s"
on_failure = "{on_failure}"
undo = {{ kind = "patch", object = "configmap/settings", patch = {{ data = {{ undone = "yes" }} }} }}
"#
    )
}

fn settings(api: &KubeApi) {
    api.apply(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "settings", "namespace": NS },
        "data": { "mode": "fast" },
    }));
}

fn undone(api: &KubeApi) -> bool {
    api.get("configmaps", NS, "settings")
        .is_some_and(|c| c["data"]["undone"] == "yes")
}

fn slow() -> StsSim {
    StsSim {
        ready_after: Duration::from_millis(1500),
        ..StsSim::default()
    }
}

#[test]
fn a_statefulset_rollback_paused_at_ordinal_1_is_undone_by_a_rollback() {
    let api = KubeApi::start();
    rolled_out(&api, slow(), "db:2");
    settings(&api);
    let home = tempfile::tempdir().unwrap();
    let plan = plan(home.path(), &api, &steps("pause"));
    let mut h = start(home.path(), &plan, false);
    api.wait_for(LONG, "the partition lowered to 1", |a| {
        partitions(a).contains(&1)
    });
    h.send("pause");
    let paused = h.until_within(LONG, |v| v["View"]["status"] == "Paused");
    let done = paused["View"]["steps"][0]["status"]["Partial"]["done"]
        .as_str()
        .unwrap_or_else(|| panic!("not partial: {paused}"));
    assert!(done.contains("ordinals released"), "{done}");
    assert!(!undone(&api));
    h.send("rollback the old revision is no better");
    let end = h.until_within(LONG, |v| finished(v).is_some());
    assert_eq!(finished(&end), Some("RolledBack"), "{end}");
    assert!(undone(&api), "the rollback ran the step's undo");
}

#[test]
fn a_statefulset_rollback_failing_at_ordinal_1_is_undone_by_on_failure_rollback() {
    let api = KubeApi::start();
    rolled_out(&api, slow(), "db:2");
    settings(&api);
    let home = tempfile::tempdir().unwrap();
    let plan = plan(home.path(), &api, &steps("rollback"));
    let mut h = start(home.path(), &plan, false);
    api.wait_for(LONG, "the partition lowered to 1", |a| {
        partitions(a).contains(&1)
    });
    // The API server now refuses writes and reads of the StatefulSet (not a 5xx: a failure).
    api.fault("/statefulsets/orders-db", Fault::Status(403));
    let failed = h.until_within(LONG, |v: &Value| {
        v["Note"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("rollback-db failed"))
    });
    let text = failed["Note"]["text"].as_str().unwrap();
    assert!(text.contains("ordinals released"), "{text}");
    let end = h.until_within(LONG, |v| finished(v).is_some());
    assert_eq!(finished(&end), Some("RolledBack"), "{end}");
    assert!(undone(&api), "the rollback ran the step's undo");
}
