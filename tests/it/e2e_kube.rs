//! End to end: the real `ebb console --config` in a pseudo-terminal, watching a namespace
//! of the loopback API server through a generated kubeconfig; a pod starts crashlooping.

use serde_json::json;

use super::e2e::Console;
use super::support::kube_api::{KubeApi, fixtures};

fn crashing_pod(restarts: i64) -> serde_json::Value {
    let mut p = fixtures::pod(
        "shop",
        "orders-db-1",
        "node-1",
        &["data-orders-db-1"],
        false,
        restarts,
    );
    p["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "orders-db", "uid": "u"}]);
    p["status"]["containerStatuses"][0]["state"] =
        json!({"waiting": {"reason": "CrashLoopBackOff"}});
    p
}

#[test]
fn console_watches_a_kubernetes_namespace_and_shows_a_pod_crashlooping() {
    let api = KubeApi::start();
    api.apply(fixtures::statefulset("shop", "orders-db", 2, "db:1"));
    api.apply(fixtures::pvc("shop", "data-orders-db-0", "10Gi", "Bound"));
    api.apply(fixtures::pvc("shop", "data-orders-db-1", "10Gi", "Pending"));
    let mut console = Console::spawn_with(&["console", "--config", "console.toml"], &[], |home| {
        let kubeconfig = api.kubeconfig(home, "shop");
        std::fs::write(
            home.join("console.toml"),
            format!(
                "[console]\ninterval = \"500ms\"\n\n[targets.k8s]\nkind = \"kubernetes\"\n\
                 url = \"file:{}\"\ncontext = \"loopback\"\n",
                kubeconfig.display()
            ),
        )
        .unwrap();
    });
    console.wait_for("the namespace's StatefulSet and claims", |s| {
        let t = s.contents();
        t.contains("orders-db") && t.contains("data-orders-db-1") && t.contains("Pending")
    });
    api.apply(crashing_pod(4));
    console.wait_for("the crashlooping pod", |s| {
        let t = s.contents();
        t.contains("CrashLoopBackOff") && t.contains("restarts 4")
    });
    console.send(b"q");
    let status = console.wait_exit();
    assert!(status.success(), "{status:?}\n{}", console.describe());
    console.assert_restored();
}
