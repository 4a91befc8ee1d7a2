//! The loopback API server answers kube-rs as a real API server would (typed list, watch,
//! patch, scale, pagination, faults) and its StatefulSet controller rolls pods by
//! partition and leaves a crashlooping pod alone (kubernetes#67250).

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::json;

use crate::support::kube_api::{Fault, KubeApi, StsSim, fixtures};

async fn client(api: &KubeApi, dir: &tempfile::TempDir) -> kube::Client {
    let target = ebb::plan::Target {
        name: "k8s".into(),
        kind: ebb::plan::TargetKind::Kubernetes,
        ca: None,
        url: Some(ebb::plan::SecretRef::File(
            api.kubeconfig(dir.path(), "shop"),
        )),
        object: None,
        context: None,
        namespace: None,
    };
    let connected = ebb::backends::kubernetes::connect(&target, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(connected.namespace, "shop");
    connected.client
}

#[tokio::test]
async fn kube_rs_lists_pages_watches_and_patches_through_a_generated_kubeconfig() {
    let api = KubeApi::start();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..1200 {
        api.apply(fixtures::pod(
            "shop",
            &format!("p-{i:04}"),
            "node-1",
            &[],
            true,
            0,
        ));
    }
    api.apply(fixtures::pod("other", "elsewhere", "node-1", &[], true, 0));
    let pods: Api<Pod> = Api::namespaced(client(&api, &dir).await, "shop");
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(500);
        if let Some(t) = &token {
            lp = lp.continue_token(t.as_str());
        }
        let page = pods.list(&lp).await.unwrap();
        names.extend(page.items.iter().map(|p| p.metadata.name.clone().unwrap()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names.len(), 1200);
    assert_eq!(names[0], "p-0000");

    let one = pods
        .list(&ListParams::default().fields("metadata.name=p-0007"))
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);

    let rv = pods
        .list_metadata(&ListParams::default().limit(1))
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = pods
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    let patched = pods
        .patch(
            "p-0007",
            &PatchParams::apply("ebb"),
            &Patch::Merge(json!({ "metadata": { "annotations": { "ebb.dev/step": "k1" } } })),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.annotations.unwrap()["ebb.dev/step"], "k1");
    match stream.try_next().await.unwrap().unwrap() {
        WatchEvent::Modified(pod) => assert_eq!(pod.metadata.name.as_deref(), Some("p-0007")),
        other => panic!("expected MODIFIED, got {other:?}"),
    }
    let seen = api
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(seen.content_type, "application/merge-patch+json");
    assert_eq!(seen.param("fieldManager").as_deref(), Some("ebb"));

    api.fault("/pods/p-0001", Fault::Status(500));
    let err = pods.get("p-0001").await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 500),
        "{err:?}"
    );
    api.clear_faults();
    assert!(pods.get("p-0001").await.is_ok());
}

#[tokio::test]
async fn the_controller_rolls_by_partition_and_leaves_a_crashlooping_pod_alone() {
    let api = KubeApi::start();
    let dir = tempfile::tempdir().unwrap();
    let sts = fixtures::statefulset("shop", "db", 3, "db:1");
    api.apply(sts.clone());
    api.run_statefulset_controller(
        "shop",
        "db",
        StsSim {
            ready_after: Duration::from_millis(100),
            broken_images: vec!["db:2-bad".into()],
        },
    );
    let client = client(&api, &dir).await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "shop");
    let pods: Api<Pod> = Api::namespaced(client, "shop");
    let ready = |n: i32| {
        let sets = sets.clone();
        async move {
            let s = sets.get("db").await.unwrap().status.unwrap();
            s.ready_replicas == Some(n) && s.current_revision == s.update_revision
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !ready(3).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "3 pods never became ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let good = sets
        .get("db")
        .await
        .unwrap()
        .status
        .unwrap()
        .update_revision
        .unwrap();

    // A broken image: the highest ordinal is replaced, crashloops, and the rollout stops.
    api.apply(fixtures::with_image(
        api.get("statefulsets", "shop", "db").unwrap(),
        "db:2-bad",
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let p = pods.get("db-2").await.ok();
        let restarts = p.as_ref().and_then(|p| {
            p.status
                .as_ref()?
                .container_statuses
                .as_ref()?
                .first()
                .map(|c| c.restart_count)
        });
        if restarts.is_some_and(|r| r >= 2) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "db-2 never crashlooped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let label = |p: &Pod| p.metadata.labels.as_ref().unwrap()["controller-revision-hash"].clone();
    assert_eq!(
        label(&pods.get("db-1").await.unwrap()),
        good,
        "the rollout must stop at db-2"
    );

    // Reverting the template does not replace the stuck pod (kubernetes#67250)…
    api.apply(fixtures::with_image(
        api.get("statefulsets", "shop", "db").unwrap(),
        "db:1",
    ));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_ne!(label(&pods.get("db-2").await.unwrap()), good);
    assert_eq!(
        sets.get("db")
            .await
            .unwrap()
            .status
            .unwrap()
            .update_revision
            .unwrap(),
        good
    );
    // …deleting it does.
    api.delete("pods", "shop", "db-2");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !ready(3).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "db-2 never came back on the good revision"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(label(&pods.get("db-2").await.unwrap()), good);

    // A partition holds lower ordinals on the old revision.
    let mut s = fixtures::with_image(api.get("statefulsets", "shop", "db").unwrap(), "db:3");
    s["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = json!(2);
    api.apply(s);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let st = sets.get("db").await.unwrap().status.unwrap();
        if st.updated_replicas == Some(1) && st.ready_replicas == Some(3) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "partition 2 never rolled db-2"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        label(&pods.get("db-1").await.unwrap()),
        good,
        "db-1 is below the partition"
    );
}
