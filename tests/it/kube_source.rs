//! The Kubernetes source against the loopback API server, through a generated kubeconfig:
//! figures from watches (no polling), snapshot readiness, usage from the kubelet stats
//! proxy, 500s and hangs reported as errors naming the target and then recovered, and
//! 5,000 pods listed in pages.

use std::time::Duration;

use ebb::backends::kubernetes::source::{self as kube, KubeTarget};
use ebb::plan::{SecretRef, Target, TargetKind};
use ebb::sources::kube::KubeSnapshot;
use ebb::sources::{Observation, Payload, SnapshotState};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::kube_api::{Fault, KubeApi, fixtures};

/// Generous: these are deadlines for things that normally take milliseconds.
const WITHIN: Duration = Duration::from_secs(30);
const NS: &str = "shop";

fn target(api: &KubeApi, dir: &tempfile::TempDir, interval: Duration) -> KubeTarget {
    KubeTarget {
        target: Target {
            name: "k8s".into(),
            kind: TargetKind::Kubernetes,
            url: Some(SecretRef::File(api.kubeconfig(dir.path(), NS))),
            ca: None,
            object: None,
            context: Some("loopback".into()),
            namespace: None,
        },
        interval,
        timeout: Duration::from_millis(500),
    }
}

/// A pod of StatefulSet `sts` on `revision`.
fn owned_pod(
    name: &str,
    sts: &str,
    revision: &str,
    claim: &str,
    ready: bool,
    restarts: i64,
) -> Value {
    let mut p = fixtures::pod(NS, name, "node-1", &[claim], ready, restarts);
    p["metadata"]["labels"]["controller-revision-hash"] = json!(revision);
    p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": sts, "uid": "u-1", "controller": true}]);
    p
}

fn rolling_statefulset() -> Value {
    let mut s = fixtures::statefulset(NS, "db", 3, "db:2");
    s["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = json!(2);
    s["status"] = json!({"replicas": 3, "readyReplicas": 3, "updatedReplicas": 1,
        "currentRevision": "db-aaa", "updateRevision": "db-bbb"});
    s
}

fn namespace(api: &KubeApi) {
    api.apply(rolling_statefulset());
    for i in 0..3 {
        let rev = if i == 2 { "db-bbb" } else { "db-aaa" };
        api.apply(owned_pod(
            &format!("db-{i}"),
            "db",
            rev,
            &format!("data-db-{i}"),
            true,
            0,
        ));
        api.apply(fixtures::pvc(NS, &format!("data-db-{i}"), "10Gi", "Bound"));
    }
    api.apply(fixtures::pvc(NS, "scratch", "1Gi", "Pending"));
}

/// Waits for a figure (or an error, with `Err`) that `ok` accepts.
async fn until(
    rx: &mut mpsc::Receiver<Observation>,
    what: &str,
    mut ok: impl FnMut(&Payload) -> bool,
) -> Payload {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let obs = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .expect("the source stopped");
        assert_eq!(obs.source.0, "kube:k8s");
        if ok(&obs.payload) {
            return obs.payload;
        }
    }
}

fn kube_fig(p: Payload) -> KubeSnapshot {
    match p {
        Payload::Kube(k) => k,
        other => panic!("not a kube figure: {other:?}"),
    }
}

fn is_kube(p: &Payload, f: impl Fn(&KubeSnapshot) -> bool) -> bool {
    matches!(p, Payload::Kube(k) if f(k))
}

#[tokio::test]
async fn figures_come_from_watches_and_a_pod_turning_not_ready_arrives_without_polling() {
    let api = KubeApi::start();
    let dir = tempfile::tempdir().unwrap();
    namespace(&api);
    let (tx, mut rx) = mpsc::channel(64);
    // An hour between refreshes: whatever arrives later came by a watch.
    let task = kube::spawn(target(&api, &dir, Duration::from_secs(3600)), tx);
    let first = kube_fig(until(&mut rx, "the first figure", |p| is_kube(p, |_| true)).await);
    assert_eq!(first.namespace.as_str(), NS, "the context's namespace");
    let db = &first.statefulsets[0];
    assert_eq!(db.name.as_str(), "db");
    assert_eq!(
        (db.replicas, db.ready, db.updated, db.partition),
        (3, 3, 1, 2)
    );
    assert!(db.rolling());
    assert!(db.unready.is_empty());
    assert_eq!(first.volumes.len(), 4);
    assert_eq!(
        first.volumes[0].name.as_str(),
        "scratch",
        "a claim not bound comes first"
    );
    assert_eq!(first.volumes[0].phase.as_str(), "Pending");
    assert_eq!(first.volumes[1].capacity_bytes, 10 << 30);
    let lists_before = pod_lists(&api);

    api.apply(owned_pod("db-1", "db", "db-aaa", "data-db-1", false, 3));
    let fig = kube_fig(
        until(&mut rx, "db-1 not ready", |p| {
            is_kube(p, |k| !k.statefulsets[0].unready.is_empty())
        })
        .await,
    );
    let pod = &fig.statefulsets[0].unready[0];
    assert_eq!(
        (pod.name.as_str(), pod.restarts, pod.ready),
        ("db-1", 3, false)
    );
    assert_eq!(
        pod.revision.as_str(),
        "aaa",
        "the revision without its StatefulSet's name"
    );
    assert_eq!(
        pod_lists(&api),
        lists_before,
        "no list of pods since the first: a watch brought it"
    );
    assert!(
        api.requests()
            .iter()
            .any(|r| r.path.ends_with("/namespaces/shop/pods") && r.param("watch").is_some()),
        "pods are watched"
    );
    task.abort();
}

/// Pod lists (not watches) the API server has answered.
fn pod_lists(api: &KubeApi) -> usize {
    api.requests()
        .iter()
        .filter(|r| r.path.ends_with("/namespaces/shop/pods") && r.param("watch").is_none())
        .count()
}

#[tokio::test]
async fn snapshot_readiness_and_usage_from_the_kubelet_stats_proxy() {
    let api = KubeApi::start();
    let dir = tempfile::tempdir().unwrap();
    namespace(&api);
    api.apply(fixtures::node("node-1"));
    api.apply(fixtures::volume_snapshot(
        NS,
        "data-db-0-pre-rollback",
        "data-db-0",
        false,
    ));
    api.set_stats(
        "node-1",
        fixtures::stats_summary(
            "node-1",
            &[
                (NS, "data-db-0", 9 << 30, 10 << 30),
                ("other", "data-db-0", 1, 2),
            ],
        ),
    );
    let (tx, mut rx) = mpsc::channel(64);
    let task = kube::spawn(target(&api, &dir, Duration::from_millis(300)), tx);
    let fig = kube_fig(
        until(&mut rx, "usage of data-db-0", |p| {
            is_kube(p, |k| k.volumes.iter().any(|v| v.used_bytes.is_some()))
        })
        .await,
    );
    let v = fig
        .volumes
        .iter()
        .find(|v| v.name.as_str() == "data-db-0")
        .unwrap();
    assert_eq!((v.used_bytes, v.capacity_bytes), (Some(9 << 30), 10 << 30));
    assert_eq!(v.pod.as_ref().map(|p| p.as_str()), Some("db-0"));
    assert_eq!(fig.snapshots[0].state, SnapshotState::Pending);
    assert!(
        api.requests()
            .iter()
            .any(|r| r.path == "/api/v1/nodes/node-1/proxy/stats/summary"),
        "usage is read through the API server's node proxy"
    );
    api.apply(fixtures::volume_snapshot(
        NS,
        "data-db-0-pre-rollback",
        "data-db-0",
        true,
    ));
    until(&mut rx, "the snapshot ready to use", |p| {
        is_kube(p, |k| {
            k.snapshots
                .first()
                .is_some_and(|s| s.state == SnapshotState::Ready)
        })
    })
    .await;
    task.abort();
}

#[tokio::test]
async fn an_api_server_answering_500s_or_hanging_is_an_error_naming_the_target_then_recovers() {
    let api = KubeApi::start();
    let dir = tempfile::tempdir().unwrap();
    namespace(&api);
    let (tx, mut rx) = mpsc::channel(256);
    let task = kube::spawn(target(&api, &dir, Duration::from_millis(300)), tx);
    until(&mut rx, "the first figure", |p| is_kube(p, |_| true)).await;

    api.fault("/namespaces/shop/", Fault::Status(500));
    let err = until(&mut rx, "an error", |p| matches!(p, Payload::Error(_))).await;
    let Payload::Error(text) = err else {
        unreachable!()
    };
    assert!(
        text.as_str().starts_with("target k8s: "),
        "{}",
        text.as_str()
    );
    assert!(text.as_str().contains("500"), "{}", text.as_str());
    api.clear_faults();
    until(&mut rx, "figures again after the 500s", |p| {
        is_kube(p, |_| true)
    })
    .await;

    api.fault("/namespaces/shop/", Fault::Hang);
    let err = until(&mut rx, "an error while it hangs", |p| {
        matches!(p, Payload::Error(_))
    })
    .await;
    let Payload::Error(text) = err else {
        unreachable!()
    };
    assert!(
        text.as_str().contains("no answer within 0.5s"),
        "{}",
        text.as_str()
    );
    api.clear_faults();
    until(&mut rx, "figures again after the hang", |p| {
        is_kube(p, |_| true)
    })
    .await;
    // The watches were started afresh: a change made now still arrives.
    api.apply(owned_pod("db-2", "db", "db-bbb", "data-db-2", false, 1));
    until(&mut rx, "a change after the hang", |p| {
        is_kube(p, |k| {
            k.statefulsets[0]
                .unready
                .iter()
                .any(|u| u.name.as_str() == "db-2")
        })
    })
    .await;
    task.abort();
}

#[tokio::test]
async fn five_thousand_pods_and_claims_are_listed_in_pages() {
    let api = KubeApi::start();
    let dir = tempfile::tempdir().unwrap();
    api.apply(rolling_statefulset());
    for i in 0..5000 {
        let ready = i % 10 != 0;
        api.apply(owned_pod(
            &format!("db-{i:04}"),
            "db",
            "db-aaa",
            &format!("data-db-{i:04}"),
            ready,
            0,
        ));
        api.apply(fixtures::pvc(
            NS,
            &format!("data-db-{i:04}"),
            "10Gi",
            "Bound",
        ));
    }
    let (tx, mut rx) = mpsc::channel(64);
    let task = kube::spawn(target(&api, &dir, Duration::from_secs(3600)), tx);
    let fig = kube_fig(until(&mut rx, "the whole namespace", |p| is_kube(p, |_| true)).await);
    assert_eq!(fig.volumes.len(), 5000);
    assert_eq!(fig.statefulsets[0].unready.len(), 500);
    let pages: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/namespaces/shop/pods") && r.param("watch").is_none())
        .filter(|r| r.param("limit").as_deref() == Some("500"))
        .collect();
    assert!(
        pages.len() >= 10,
        "5,000 pods in pages of 500: {} pages",
        pages.len()
    );
    assert!(
        pages
            .iter()
            .filter(|r| r.param("continue").is_some())
            .count()
            >= 9
    );
    task.abort();
}

#[tokio::test]
async fn volume_usage_checks_on_a_kubernetes_target_read_the_stats_summary() {
    use ebb::backends::kubernetes::KubeTargets;
    use ebb::backends::kubernetes::volume_usage::evaluate;
    use ebb::engine::CheckOutcome;
    let api = KubeApi::start();
    let dir = tempfile::tempdir().unwrap();
    namespace(&api);
    api.set_stats(
        "node-1",
        fixtures::stats_summary(
            "node-1",
            &[(NS, "data-db-0", 93, 100), (NS, "data-db-1", 10, 100)],
        ),
    );
    let kubeconfig = api.kubeconfig(dir.path(), NS);
    let text = format!(
        "[plan]\nname = \"p\"\n\n[targets.k8s]\nkind = \"kubernetes\"\nurl = \"file:{}\"\n\n\
         [[step]]\nid = \"s\"\nkind = \"manual\"\ndescription = \"look\"\n",
        kubeconfig.display()
    );
    let plan = ebb::plan::Plan::parse(&ebb::diag::SourceFile::new("p.toml", &text)).unwrap();
    let cluster = KubeTargets::for_plan(&plan)
        .cluster(Some("k8s"))
        .await
        .unwrap();
    let out = evaluate(&cluster, "k8s", "data-db-0", 0.90).await;
    assert_eq!(
        out,
        CheckOutcome::Fail("data-db-0 93.0% used > 90.0%".into())
    );
    assert_eq!(
        evaluate(&cluster, "k8s", "data-db-1", 0.90).await,
        CheckOutcome::Pass
    );
    let out = evaluate(&cluster, "k8s", "scratch", 0.90).await;
    assert!(
        matches!(&out, CheckOutcome::Inconclusive(m) if m.contains("no scheduled pod mounts it")),
        "{out:?}"
    );
    api.fault("/proxy/stats/summary", Fault::Status(500));
    let out = evaluate(&cluster, "k8s", "data-db-0", 0.90).await;
    assert!(
        matches!(&out, CheckOutcome::Inconclusive(m) if m.contains("usage of data-db-0 on k8s: node node-1 stats: HTTP 500")),
        "{out:?}"
    );
}
