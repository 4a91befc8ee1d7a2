//! Kubernetes steps run by the real binary against the loopback API server: a StatefulSet
//! rolled back by partition, a stuck pod deleted only after its name is typed, pause and
//! resume between ordinals, API faults that pause the run, patch/scale/snapshot and undo.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::headless::{Headless, ebb};
use crate::support::kube_api::{Fault, KubeApi, StsSim, fixtures};

pub(crate) const NS: &str = "shop";
const STS: &str = "orders-db";
/// Generous: a loaded 2-core box.
pub(crate) const LONG: Duration = Duration::from_secs(120);

pub(crate) fn plan(dir: &Path, api: &KubeApi, steps: &str) -> std::path::PathBuf {
    let kubeconfig = api.kubeconfig(dir, NS);
    let text = format!(
        "[plan]\nname = \"kube-rollback\"\ndescription = \"kubernetes steps\"\n\n\
         [targets.k8s]\nkind = \"kubernetes\"\nurl = \"file:{}\"\ncontext = \"loopback\"\n\n{steps}",
        kubeconfig.display()
    );
    let path = dir.join("plan.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const ROLLBACK: &str = r#"[[step]]
id = "rollback-db"
kind = "statefulset_rollback"
target = "k8s"
statefulset = "orders-db"
to_revision = "previous"
timeout = "90s"
"#;

pub(crate) fn sts(api: &KubeApi) -> Value {
    api.get("statefulsets", NS, STS).unwrap()
}

pub(crate) fn settled(api: &KubeApi) -> bool {
    let s = sts(api);
    let n = s["spec"]["replicas"].as_i64();
    s["status"]["readyReplicas"].as_i64() == n
        && s["status"]["updatedReplicas"].as_i64() == n
        && s["status"]["observedGeneration"] == s["metadata"]["generation"]
}

/// A StatefulSet of three on `db:1`, then rolled (as far as the controller goes) to `next`.
pub(crate) fn rolled_out(api: &KubeApi, sim: StsSim, next: &str) -> String {
    api.apply(fixtures::statefulset(NS, STS, 3, "db:1"));
    let broken = sim.broken_images.iter().any(|b| b == next);
    api.run_statefulset_controller(NS, STS, sim);
    api.wait_for(LONG, "three pods ready on db:1", settled);
    let good = sts(api)["status"]["updateRevision"]
        .as_str()
        .unwrap()
        .to_string();
    api.apply(fixtures::with_image(sts(api), next));
    if broken {
        api.wait_for(LONG, "the broken pod crashlooping", |a| {
            a.get("pods", NS, "orders-db-2").is_some_and(|p| {
                p["metadata"]["labels"]["controller-revision-hash"] != good.as_str()
                    && p["status"]["containerStatuses"][0]["restartCount"].as_i64() >= Some(1)
            })
        });
    } else {
        api.wait_for(LONG, "three pods ready on the new revision", |a| {
            settled(a) && sts(a)["status"]["updateRevision"] != good.as_str()
        });
    }
    good
}

/// The partitions written to the StatefulSet, in order.
pub(crate) fn partitions(api: &KubeApi) -> Vec<i64> {
    api.requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/statefulsets/orders-db"))
        .filter_map(|r| r.body["spec"]["updateStrategy"]["rollingUpdate"]["partition"].as_i64())
        .collect()
}

fn pods_on(api: &KubeApi, revision: &str) -> bool {
    (0..3).all(|i| {
        api.get("pods", NS, &format!("orders-db-{i}"))
            .is_some_and(|p| p["metadata"]["labels"]["controller-revision-hash"] == revision)
    })
}

pub(crate) fn start(home: &Path, plan: &Path, yes: bool) -> Headless {
    let mut c = ebb(home);
    c.args(["run", "--headless", "--json"]);
    if yes {
        c.arg("--yes");
    }
    c.arg(plan);
    Headless::start(c)
}

pub(crate) fn finished(v: &Value) -> Option<&str> {
    v["View"]["status"]["Finished"].as_str()
}

fn audit_verifies(home: &Path) {
    let out = ebb(home).args(["audit", "verify"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Samples the server while the rollout runs: whenever the partition is below the replica
/// count, every pod above it must already be Ready on the update revision.
fn watch_ordering(
    api: Arc<KubeApi>,
    good: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let s = sts(&api);
            let p = s["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
                .as_i64()
                .unwrap_or(0);
            if s["spec"]["template"]["spec"]["containers"][0]["image"] == "db:1" && p < 3 {
                for o in (p + 1)..3 {
                    let pod = api.get("pods", NS, &format!("orders-db-{o}")).unwrap();
                    assert_eq!(
                        pod["metadata"]["labels"]["controller-revision-hash"], good,
                        "partition {p} written before pod {o} was on the target revision"
                    );
                    assert_eq!(
                        pod["status"]["conditions"][0]["status"], "True",
                        "partition {p} written before pod {o} was Ready"
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

#[test]
fn a_statefulset_rolls_back_one_ordinal_at_a_time_highest_first() {
    let api = Arc::new(KubeApi::start());
    let good = rolled_out(&api, StsSim::default(), "db:2");
    let home = tempfile::tempdir().unwrap();
    let plan = plan(home.path(), &api, ROLLBACK);
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch_ordering(api.clone(), good.clone(), stop.clone());
    let mut h = start(home.path(), &plan, false);
    let end = h.until_within(LONG, |v| finished(v).is_some());
    stop.store(true, Ordering::Relaxed);
    watcher.join().expect("the ordering held throughout");
    assert_eq!(finished(&end), Some("Completed"), "{end}");

    assert_eq!(partitions(&api), vec![3, 2, 1, 0]);
    let writes: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    let first = &writes[0];
    assert_eq!(first.content_type, "application/merge-patch+json");
    assert_eq!(first.param("fieldManager").as_deref(), Some("ebb"));
    assert_eq!(
        first.body["spec"]["template"]["spec"]["containers"][0]["image"],
        "db:1"
    );
    let s = sts(&api);
    let key = s["metadata"]["annotations"]["ebb.dev/step"]
        .as_str()
        .unwrap();
    assert!(key.ends_with("/rollback-db"), "{key}");
    assert_eq!(s["metadata"]["annotations"]["ebb.dev/revision"], good);
    api.wait_for(LONG, "every pod on the good revision", |a| {
        pods_on(a, &good)
    });
    assert!(h.wait_exit(Duration::from_secs(30)));
    audit_verifies(home.path());
}

#[test]
fn a_pod_stuck_on_the_broken_revision_is_deleted_only_after_its_name_is_typed() {
    let api = KubeApi::start();
    let sim = StsSim {
        broken_images: vec!["db:2-broken".into()],
        ..StsSim::default()
    };
    let good = rolled_out(&api, sim, "db:2-broken");
    let home = tempfile::tempdir().unwrap();
    let plan = plan(home.path(), &api, ROLLBACK);
    // --yes confirms manual steps; it never deletes a pod.
    let mut h = start(home.path(), &plan, true);
    let ask = h.until_within(LONG, |v| v["Ask"].is_object());
    let what = ask["Ask"]["what"].as_str().unwrap();
    assert!(
        what.starts_with("delete pod orders-db-2 stuck on revision orders-db-")
            && what.contains("CrashLoopBackOff"),
        "{ask}"
    );
    assert_eq!(ask["Ask"]["word"], "orders-db-2");
    let deletes = |a: &KubeApi| a.requests().iter().filter(|r| r.method == "DELETE").count();
    assert_eq!(
        deletes(&api),
        0,
        "nothing is deleted before the confirmation"
    );
    // A wrong name is not a confirmation.
    h.send("confirm orders-db-1");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(deletes(&api), 0);
    h.send("confirm orders-db-2");
    let end = h.until_within(LONG, |v| finished(v).is_some());
    assert_eq!(finished(&end), Some("Completed"), "{end}");
    assert_eq!(deletes(&api), 1);
    api.wait_for(LONG, "every pod on the good revision", |a| {
        pods_on(a, &good)
    });

    let audit = ebb(home.path())
        .args(["audit", "export", "--format", "jsonl"])
        .output()
        .unwrap();
    let audit = String::from_utf8_lossy(&audit.stdout);
    let confirmed = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| {
            r.to_string().contains("\"typed_name\":\"orders-db-2\"")
                && r.to_string().contains("run.confirm")
        });
    assert!(confirmed.is_some(), "{audit}");
    assert!(audit.contains("deleted pod orders-db-2"), "{audit}");
    audit_verifies(home.path());
}

#[test]
fn a_paused_rollback_continues_from_the_ordinal_it_reached() {
    let api = KubeApi::start();
    let sim = StsSim {
        ready_after: Duration::from_millis(1500),
        ..StsSim::default()
    };
    let good = rolled_out(&api, sim, "db:2");
    let home = tempfile::tempdir().unwrap();
    let plan = plan(home.path(), &api, ROLLBACK);
    let mut h = start(home.path(), &plan, false);
    api.wait_for(LONG, "the partition lowered to 2", |a| {
        partitions(a).contains(&2)
    });
    h.send("pause");
    let paused = h.until_within(LONG, |v| v["View"]["status"] == "Paused");
    let at = paused["View"]["steps"][0]["stopped_at"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(at.starts_with("ordinal "), "{paused}");
    let reached: i64 = at["ordinal ".len()..].parse().unwrap();
    assert!(reached < 3, "{at}");
    let before = partitions(&api);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(partitions(&api), before, "nothing is written while paused");
    h.send("run");
    let end = h.until_within(LONG, |v| finished(v).is_some());
    assert_eq!(finished(&end), Some("Completed"), "{end}");
    // One template write; the partition only ever went down, from where it was.
    let all = partitions(&api);
    assert_eq!(all, vec![3, 2, 1, 0], "{all:?}");
    let templates = api
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && !r.body["spec"]["template"].is_null())
        .count();
    assert_eq!(templates, 1);
    api.wait_for(LONG, "every pod on the good revision", |a| {
        pods_on(a, &good)
    });
}

#[test]
fn api_server_errors_and_hangs_pause_the_run_and_resume_completes_it() {
    let api = KubeApi::start();
    let sim = StsSim {
        ready_after: Duration::from_millis(2000),
        ..StsSim::default()
    };
    let good = rolled_out(&api, sim, "db:2");
    let home = tempfile::tempdir().unwrap();
    let plan = plan(home.path(), &api, ROLLBACK);
    let mut h = start(home.path(), &plan, false);
    api.wait_for(LONG, "the partition lowered to 2", |a| {
        partitions(a).contains(&2)
    });
    api.fault("/statefulsets/orders-db", Fault::Status(500));
    let paused = h.until_within(LONG, |v| v["View"]["status"] == "Paused");
    let why = paused["View"]["pause"]["text"].as_str().unwrap_or("");
    assert!(
        why.starts_with("inconclusive: rollback-db stopped at ordinal"),
        "{paused}"
    );
    assert!(why.contains("500"), "{paused}");
    api.clear_faults();

    api.fault("/pods/", Fault::Hang);
    h.send("run");
    let paused = h.until_within(LONG, |v| {
        v["View"]["status"] == "Paused"
            && v["View"]["pause"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("no answer"))
    });
    assert!(
        paused["View"]["pause"]["text"]
            .as_str()
            .unwrap()
            .starts_with("inconclusive: rollback-db stopped at ordinal"),
        "{paused}"
    );
    api.clear_faults();
    h.send("run");
    let end = h.until_within(LONG, |v| finished(v).is_some());
    assert_eq!(finished(&end), Some("Completed"), "{end}");
    let all = partitions(&api);
    assert_eq!(all.first(), Some(&3));
    assert_eq!(all.last(), Some(&0));
    assert!(all.windows(2).all(|w| w[1] <= w[0]), "{all:?}");
    api.wait_for(LONG, "every pod on the good revision", |a| {
        pods_on(a, &good)
    });
}

const OBJECTS: &str = r#"[[step]]
id = "snap"
kind = "snapshot"
target = "k8s"
volume = "data-orders-db-0"

[[step]]
id = "worker-down"
kind = "scale"
target = "k8s"
object = "deployment/worker"
replicas = 0
undo = { object = "deployment/worker", replicas = 4 }

[[step]]
id = "pin"
kind = "patch"
target = "k8s"
object = "configmap/settings"
patch = { data = { mode = "safe", extra = "1" }, metadata = { labels = { pinned = "yes" } } }
undo = "auto"

[[step]]
id = "missing"
kind = "patch"
target = "k8s"
object = "configmap/absent"
patch = { data = { x = "1" } }
undo = "auto"
on_failure = "rollback"
"#;

#[test]
fn snapshot_waits_for_ready_and_patch_and_scale_are_undone_exactly() {
    let api = KubeApi::start();
    api.apply(fixtures::pvc(NS, "data-orders-db-0", "10Gi", "Bound"));
    api.apply(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "worker", "namespace": NS },
        "spec": { "replicas": 4, "selector": { "matchLabels": { "app": "worker" } },
            "template": { "metadata": { "labels": { "app": "worker" } },
                "spec": { "containers": [{ "name": "w", "image": "w:1" }] } } },
    }));
    let before = api.apply(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "settings", "namespace": NS, "labels": { "app": "orders" } },
        "data": { "mode": "fast", "keep": "yes" },
    }));
    let home = tempfile::tempdir().unwrap();
    let plan = plan(home.path(), &api, OBJECTS);
    let mut h = start(home.path(), &plan, false);
    api.wait_for(LONG, "the snapshot created", |a| {
        !a.list("volumesnapshots", Some(NS)).is_empty()
    });
    std::thread::sleep(Duration::from_millis(1500));
    let vs = api.list("volumesnapshots", Some(NS)).remove(0);
    assert_eq!(
        vs["spec"]["source"]["persistentVolumeClaimName"],
        "data-orders-db-0"
    );
    assert!(
        api.get("deployments", NS, "worker").unwrap()["spec"]["replicas"] == 4,
        "the next step waits for readyToUse"
    );
    let mut ready = vs.clone();
    ready["status"] = json!({ "readyToUse": true });
    api.apply(ready);
    let end = h.until_within(LONG, |v| finished(v).is_some());
    assert_eq!(finished(&end), Some("RolledBack"), "{end}");

    let scales: Vec<i64> = api
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/deployments/worker/scale"))
        .map(|r| r.body["spec"]["replicas"].as_i64().unwrap())
        .collect();
    assert_eq!(scales, vec![0, 4]);
    assert_eq!(
        api.get("deployments", NS, "worker").unwrap()["spec"]["replicas"],
        4
    );
    let after = api.get("configmaps", NS, "settings").unwrap();
    assert_eq!(after["data"], before["data"], "{after}");
    assert_eq!(
        after["metadata"]["labels"], before["metadata"]["labels"],
        "{after}"
    );
    assert!(
        after["metadata"]["annotations"]["ebb.dev/step"]
            .as_str()
            .unwrap()
            .ends_with("/pin/undo")
    );
    // The restoring patch named the added fields as null.
    let restore = api
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "PATCH" && r.path.ends_with("/configmaps/settings"))
        .unwrap();
    assert_eq!(restore.body["data"]["extra"], Value::Null);
    assert!(
        restore.body["data"]
            .as_object()
            .unwrap()
            .contains_key("extra")
    );
    assert_eq!(restore.body["data"]["mode"], "fast");
    let vs = api.list("volumesnapshots", Some(NS)).remove(0);
    assert!(
        vs["metadata"]["annotations"]["ebb.dev/step"]
            .as_str()
            .unwrap()
            .ends_with("/snap")
    );
    assert!(h.wait_exit(Duration::from_secs(30)));
    audit_verifies(home.path());
}

#[test]
fn a_rollback_killed_mid_way_is_probed_from_the_statefulset_and_resumed() {
    let api = KubeApi::start();
    let sim = StsSim {
        ready_after: Duration::from_millis(1500),
        ..StsSim::default()
    };
    let good = rolled_out(&api, sim, "db:2");
    let home = tempfile::tempdir().unwrap();
    let plan = plan(home.path(), &api, ROLLBACK);
    let mut h = start(home.path(), &plan, false);
    api.wait_for(LONG, "the partition lowered to 2", |a| {
        partitions(a).contains(&2)
    });
    h.child.kill().unwrap();
    h.child.wait().unwrap();
    let id = crate::support::headless::runs(home.path())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut c = ebb(home.path());
    c.args(["resume", &id, "--headless", "--json"]);
    let mut h = Headless::start(c);
    let note = h.until_within(LONG, |v| {
        v["Note"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("was in flight at the crash"))
    });
    assert!(
        note["Note"]["text"]
            .as_str()
            .unwrap()
            .contains("its target says it was cut off at ordinal"),
        "{note}"
    );
    let end = h.until_within(LONG, |v| finished(v).is_some());
    assert_eq!(finished(&end), Some("Completed"), "{end}");
    let all = partitions(&api);
    assert_eq!(all, vec![3, 2, 1, 0], "never blindly restarted: {all:?}");
    api.wait_for(LONG, "every pod on the good revision", |a| {
        pods_on(a, &good)
    });
    audit_verifies(home.path());
}

#[test]
fn a_pod_slower_than_the_step_timeout_fails_the_step_naming_the_pod_and_its_state() {
    let api = KubeApi::start();
    let sim = StsSim {
        ready_after: Duration::from_secs(4),
        ..StsSim::default()
    };
    rolled_out(&api, sim, "db:2");
    let home = tempfile::tempdir().unwrap();
    let plan = plan(
        home.path(),
        &api,
        &ROLLBACK.replace("timeout = \"90s\"", "timeout = \"1s\""),
    );
    let mut h = start(home.path(), &plan, false);
    let failed = h.until_within(LONG, |v| {
        v["Note"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("rollback-db failed"))
    });
    let text = failed["Note"]["text"].as_str().unwrap();
    assert!(
        text.contains("pod orders-db-2 not Ready on revision orders-db-")
            && text.contains("after 1.0s: "),
        "{text}"
    );
    // The timeout is per pod: the whole step was not cut off by it before the first write.
    assert_eq!(partitions(&api), vec![3, 2]);
}

const PATCH_THEN_LOOK: &str = r#"[[step]]
id = "pin"
kind = "patch"
target = "k8s"
object = "configmap/settings"
patch = { data = { mode = "safe", extra = "1" } }
undo = "auto"

[[step]]
id = "look"
kind = "manual"
instruction = "look at the settings"
"#;

#[test]
fn a_patch_journaled_before_a_crash_is_undone_after_resume_from_its_pre_image() {
    let api = KubeApi::start();
    let before = api.apply(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "settings", "namespace": NS },
        "data": { "mode": "fast" },
    }));
    let home = tempfile::tempdir().unwrap();
    let plan = plan(home.path(), &api, PATCH_THEN_LOOK);
    let mut h = start(home.path(), &plan, false);
    api.wait_for(LONG, "the patch applied", |a| {
        a.get("configmaps", NS, "settings")
            .is_some_and(|c| c["data"]["mode"] == "safe")
    });
    // The manual step waits for a human: the patch is journaled as applied by then.
    h.until_within(LONG, |v| {
        v["View"]["steps"][1]["status"].get("Running").is_some()
    });
    h.child.kill().unwrap();
    h.child.wait().unwrap();

    let id = crate::support::headless::runs(home.path())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut c = ebb(home.path());
    c.args(["resume", &id, "--headless", "--json"]);
    let mut h = Headless::start(c);
    h.send("rollback the settings change was wrong");
    let end = h.until_within(LONG, |v| finished(v).is_some());
    assert_eq!(finished(&end), Some("RolledBack"), "{end}");
    let after = api.get("configmaps", NS, "settings").unwrap();
    assert_eq!(after["data"], before["data"], "{after}");
    assert!(h.wait_exit(Duration::from_secs(30)));
    audit_verifies(home.path());
}
