//! `--context` and `-n/--namespace` on `ebb run`, as kubectl has them: they point every
//! kubernetes target elsewhere, are journaled with the run, and a resume keeps them.

use std::time::Duration;

use serde_json::{Value, json};

use crate::kube_run::{LONG, finished};
use crate::support::headless::{Headless, ebb, flat};
use crate::support::kube_api::KubeApi;

/// A kubeconfig whose context `staging` points nowhere and `loopback` at the server.
fn kubeconfig(dir: &std::path::Path, api: &KubeApi) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: loopback\n  cluster:\n    server: {}\n\
         - name: nowhere\n  cluster:\n    server: http://127.0.0.1:9\n\
         contexts:\n- name: loopback\n  context:\n    cluster: loopback\n    user: ebb-test\n    namespace: shop\n\
         - name: staging\n  context:\n    cluster: nowhere\n    user: ebb-test\n    namespace: shop\n\
         current-context: staging\nusers:\n- name: ebb-test\n  user:\n    token: loopback-token\n",
        api.url
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn worker(ns: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "worker", "namespace": ns },
        "spec": { "replicas": 4, "selector": { "matchLabels": { "app": "worker" } },
            "template": { "metadata": { "labels": { "app": "worker" } },
                "spec": { "containers": [{ "name": "w", "image": "w:1" }] } } },
    })
}

#[test]
fn context_and_namespace_override_the_plan_and_a_resume_keeps_them() {
    let api = KubeApi::start();
    api.apply(worker("shop"));
    api.apply(worker("payments"));
    let home = tempfile::tempdir().unwrap();
    let kc = kubeconfig(home.path(), &api);
    let plan = home.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "[plan]\nname = \"override\"\n\n[targets.k8s]\nkind = \"kubernetes\"\nurl = \"file:{}\"\n\
             context = \"staging\"\nnamespace = \"shop\"\n\n\
             [[step]]\nid = \"ask\"\nkind = \"manual\"\ninstruction = \"go\"\n\n\
             [[step]]\nid = \"down\"\nkind = \"scale\"\ntarget = \"k8s\"\nobject = \"deployment/worker\"\nreplicas = 0\n",
            kc.display()
        ),
    )
    .unwrap();

    // A bad namespace is refused before anything starts.
    let out = ebb(home.path())
        .args(["run", "--headless", "--yes", "-n", "Not_A_Label"])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        flat(&out.stderr).contains("--namespace"),
        "{}",
        flat(&out.stderr)
    );

    // Started with the override, killed while its manual step waits.
    let mut c = ebb(home.path());
    c.args([
        "run",
        "--headless",
        "--json",
        "--context",
        "loopback",
        "-n",
        "payments",
    ])
    .arg(&plan);
    let mut h = Headless::start(c);
    h.until(|v| v.to_string().contains("step ask started"));
    h.child.kill().unwrap();
    let _ = h.child.wait();

    let runs = ebb(home.path())
        .args(["runs", "list", "--json"])
        .output()
        .unwrap();
    let runs: Value = serde_json::from_slice(&runs.stdout).unwrap();
    let id = runs[0]["id"].as_str().unwrap().to_string();
    let shown = ebb(home.path())
        .args(["runs", "show", &id, "--json"])
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let run = if shown["run"].is_null() {
        &shown
    } else {
        &shown["run"]
    };
    assert_eq!(run["kube_context"], "loopback", "{shown}");
    assert_eq!(run["kube_namespace"], "payments", "{shown}");

    // The resume points where the run did, with no flag given again.
    let mut c = ebb(home.path());
    c.args(["resume", &id, "--headless", "--json", "--yes"]);
    let mut h = Headless::start(c);
    let end = h.until_within(LONG, |v| finished(v).is_some());
    assert_eq!(finished(&end), Some("Completed"), "{end}");
    h.close_stdin();
    assert!(h.wait_exit(Duration::from_secs(30)));
    let scaled: Vec<String> = api
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/scale"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        scaled,
        vec!["/apis/apps/v1/namespaces/payments/deployments/worker/scale".to_string()]
    );
    assert_eq!(
        api.get("deployments", "payments", "worker").unwrap()["spec"]["replicas"],
        0
    );
    assert_eq!(
        api.get("deployments", "shop", "worker").unwrap()["spec"]["replicas"],
        4
    );
}
