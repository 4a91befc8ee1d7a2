//! Kubernetes budgets: the lean watch cache's memory, the Storage pane with 5,000 claims,
//! and how long a watch event takes to reach a rendered frame.
//!
//! Budgets (issue #6): 5,000 pods + 5,000 PVCs in the watch cache ≤ 50 MB extra RSS; a
//! Storage pane frame with 5,000 volumes ≤ 2 ms; watch event → screen ≤ 100 ms. The first
//! and last are printed (and checked) before criterion measures the frames.
//!
//! Run: `cargo bench --bench kube` (quick check: `-- --quick`).

#[path = "../tests/it/support/kube_api/mod.rs"]
#[allow(dead_code, unused_imports)]
mod kube_api;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::runtime::watcher::Event;
use serde_json::json;

use ebb::app::{Model, Msg, PaneId, update};
use ebb::backends::kubernetes::source::KubeTarget;
use ebb::backends::kubernetes::source::cache::{Change, KubeCache};
use ebb::backends::source::SourceTarget;
use ebb::cli::console::console_model;
use ebb::cli::screenshot::{SCREENSHOT_EPOCH, render_buffer};
use ebb::cli::watch::Watch;
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::plan::{SecretRef, Target, TargetKind};
use ebb::sources::kube::{ClaimStatus, KubeSnapshot};
use ebb::sources::{Observation, Payload, SourceId};
use ebb::text::DisplayText;

const N: usize = 5000;
const RSS_BUDGET_MB: f64 = 50.0;
const LATENCY_BUDGET: Duration = Duration::from_millis(100);

/// Resident set size of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    pages * page
}

/// A pod as a real API server sends it: labels, annotations, owner, managed fields, two
/// containers with env and resources, a claim, conditions and container statuses.
fn pod_json(i: usize) -> String {
    let managed: Vec<_> = (0..4)
        .map(|k| json!({"manager": format!("kube-controller-{k}"), "operation": "Update", "apiVersion": "v1",
            "time": "2026-12-01T00:00:00Z", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}, "f:controller-revision-hash": {}, "f:statefulset.kubernetes.io/pod-name": {}}},
                         "f:spec": {"f:containers": {"k:{\"name\":\"main\"}": {"f:image": {}, "f:env": {}, "f:resources": {}}}},
                         "f:status": {"f:conditions": {}, "f:containerStatuses": {}, "f:phase": {}}}}))
        .collect();
    let env: Vec<_> = (0..12)
        .map(|k| json!({"name": format!("SETTING_{k}"), "value": format!("value-{k}-{i}")}))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("orders-db-{i:04}"), "namespace": "shop", "uid": format!("0b6f6c1e-{i:08}-4c4e-9a53-5d6f1c2b3a4d"),
            "resourceVersion": format!("{}", 100000 + i), "creationTimestamp": "2026-12-01T00:00:00Z",
            "labels": {"app": "orders-db", "controller-revision-hash": "orders-db-7d9f5c6b8", "statefulset.kubernetes.io/pod-name": format!("orders-db-{i:04}"),
                       "team": "payments", "tier": "data"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-30T12:00:00Z", "prometheus.io/scrape": "true", "prometheus.io/port": "9187"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "orders-db", "uid": "1f2e3d4c", "controller": true, "blockOwnerDeletion": true}],
            "managedFields": managed,
        },
        "spec": {
            "nodeName": format!("node-{}", i % 50),
            "containers": [
                {"name": "main", "image": "registry.internal/orders-db:2.3.1", "env": env,
                 "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
                 "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]},
                {"name": "exporter", "image": "quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
                 "ports": [{"containerPort": 9187, "name": "metrics"}]}
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": format!("data-orders-db-{i:04}")}}],
        },
        "status": {
            "phase": "Running", "podIP": "10.1.2.3", "hostIP": "10.0.0.1", "startTime": "2026-12-01T00:00:00Z",
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": if i.is_multiple_of(10) { "False" } else { "True" }},
                           {"type": "ContainersReady", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [
                {"name": "main", "ready": true, "restartCount": i % 3, "image": "registry.internal/orders-db:2.3.1",
                 "imageID": "registry.internal/orders-db@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                 "containerID": "containerd://0123456789abcdef", "state": {"running": {"startedAt": "2026-12-01T00:00:00Z"}}},
                {"name": "exporter", "ready": true, "restartCount": 0, "image": "quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
                 "imageID": "", "state": {"running": {}}}
            ],
        },
    })
    .to_string()
}

fn pvc_json(i: usize) -> String {
    json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": format!("data-orders-db-{i:04}"), "namespace": "shop", "uid": format!("uid-{i}"),
                     "resourceVersion": "1", "labels": {"app": "orders-db"},
                     "annotations": {"pv.kubernetes.io/bind-completed": "yes", "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}},
                 "storageClassName": "gp3", "volumeMode": "Filesystem", "volumeName": format!("pvc-{i:08}-0000")},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "50Gi"}},
    })
    .to_string()
}

/// Feeds 5,000 pods and 5,000 claims through the cache as a watcher's first list would
/// (each object parsed, cut to its row, dropped) and keeps the figure the model holds.
fn lean_cache_rss() -> f64 {
    let before = rss();
    let mut cache = KubeCache::new();
    cache.apply(Change::Pod(Ok(Event::Init)));
    for i in 0..N {
        let pod: Pod = serde_json::from_str(&pod_json(i)).expect("pod");
        cache.apply(Change::Pod(Ok(Event::InitApply(pod))));
    }
    cache.apply(Change::Pod(Ok(Event::InitDone)));
    cache.apply(Change::Claim(Ok(Event::Init)));
    for i in 0..N {
        let pvc: PersistentVolumeClaim = serde_json::from_str(&pvc_json(i)).expect("pvc");
        cache.apply(Change::Claim(Ok(Event::InitApply(pvc))));
    }
    cache.apply(Change::Claim(Ok(Event::InitDone)));
    let figure = cache.snapshot("shop");
    let extra = rss().saturating_sub(before) as f64 / 1e6;
    assert_eq!(figure.volumes.len(), N);
    black_box((&cache, &figure));
    println!(
        "kube/lean_cache: {N} pods + {N} PVCs (each ~{} B of JSON) → +{extra:.1} MB RSS (budget {RSS_BUDGET_MB} MB)",
        pod_json(1).len()
    );
    extra
}

fn kube_target(name: &str, url: Option<SecretRef>) -> KubeTarget {
    KubeTarget {
        target: Target {
            name: name.into(),
            kind: TargetKind::Kubernetes,
            url,
            ca: None,
            object: None,
            context: None,
            namespace: None,
        },
        interval: Duration::from_secs(3600),
        timeout: Duration::from_secs(2),
    }
}

fn screen_text(m: &Model) -> String {
    let keymap = keymap_by_name("default").expect("keymap");
    let theme = theme_by_name("dark").expect("theme");
    let buf = render_buffer(m, &keymap, &theme, 200, 50);
    buf.content().iter().map(|c| c.symbol()).collect()
}

/// A pod's restarts changed at the API server → the rendered frame shows it: the watch,
/// the cache, the 50 ms coalescing, the channel, `update` and a full render.
fn watch_to_screen() -> (Duration, Duration) {
    use kube_api::{KubeApi, fixtures};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let api = KubeApi::start();
    let dir = tempfile::tempdir().expect("dir");
    let pod = |restarts: i64| {
        let mut p = fixtures::pod(
            "shop",
            "orders-db-0",
            "node-1",
            &["data-orders-db-0"],
            false,
            restarts,
        );
        p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "orders-db", "uid": "u"}]);
        p["metadata"]["labels"]["controller-revision-hash"] = json!("orders-db-a");
        p
    };
    api.apply(fixtures::statefulset("shop", "orders-db", 1, "db:1"));
    api.apply(fixtures::pvc("shop", "data-orders-db-0", "10Gi", "Bound"));
    api.apply(pod(0));
    let target = kube_target(
        "k8s",
        Some(SecretRef::File(api.kubeconfig(dir.path(), "shop"))),
    );
    let w = Watch {
        targets: vec![SourceTarget::Kube(target.clone())],
        plan: None,
        unwatched: Vec::new(),
    };
    let keymap = keymap_by_name("default").expect("keymap");
    let mut model = console_model(&w, "bench", SCREENSHOT_EPOCH);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Observation>(64);
    let _task = {
        let _in_runtime = rt.enter();
        ebb::backends::kubernetes::source::spawn(target, tx)
    };
    let mut wait_for = |model: &mut Model, marker: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let obs = rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(30), rx.recv()).await })
                .expect("an observation in time")
                .expect("source alive");
            let now = ebb::time::Timestamp::now();
            update(model, &keymap, Msg::Observation(obs));
            update(model, &keymap, Msg::Tick(now));
            if screen_text(model).contains(marker) {
                return;
            }
            assert!(Instant::now() < deadline, "never saw {marker}");
        }
    };
    wait_for(&mut model, "restarts 0");
    let mut times = Vec::new();
    for i in 1..=20 {
        let marker = format!("restarts {i} ");
        let t0 = Instant::now();
        api.apply(pod(i));
        wait_for(&mut model, &marker);
        times.push(t0.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    times.sort();
    let (p50, max) = (times[times.len() / 2], times[times.len() - 1]);
    println!(
        "kube/watch_to_screen: 20 changes, p50 {:.1} ms, max {:.1} ms (budget {} ms)",
        p50.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        LATENCY_BUDGET.as_millis()
    );
    (p50, max)
}

/// A console with one kubernetes target holding 5,000 claims (a tenth of them filling).
fn big_model() -> Model {
    let w = Watch {
        targets: vec![SourceTarget::Kube(kube_target("k8s", None))],
        plan: None,
        unwatched: Vec::new(),
    };
    let keymap = keymap_by_name("default").expect("keymap");
    let mut m = console_model(&w, "bench", SCREENSHOT_EPOCH);
    let volumes = (0..N)
        .map(|i| ClaimStatus {
            name: DisplayText::new(&format!("data-orders-db-{i:04}")),
            phase: DisplayText::new("Bound"),
            capacity_bytes: 50 << 30,
            used_bytes: Some(((i % 100) as u64) << 29),
            growth_bytes_per_sec: 1024.0,
            pod: Some(DisplayText::new(&format!("orders-db-{i:04}"))),
        })
        .collect();
    let fig = KubeSnapshot {
        namespace: DisplayText::new("shop"),
        statefulsets: Vec::new(),
        volumes,
        snapshots: Vec::new(),
    };
    update(
        &mut m,
        &keymap,
        Msg::Observation(Observation {
            source: SourceId("kube:k8s".into()),
            at: SCREENSHOT_EPOCH,
            interval: Duration::from_secs(2),
            payload: Payload::Kube(fig),
        }),
    );
    m.scroll.insert(PaneId::Storage, N / 2);
    m
}

fn frames(c: &mut Criterion) {
    let theme = theme_by_name("dark").expect("theme");
    let keymap = keymap_by_name("default").expect("keymap");
    let m = big_model();
    let mut g = c.benchmark_group("kube");
    g.bench_function("storage_pane_5000_volumes_100x40", |b| {
        let area = ratatui::layout::Rect::new(0, 0, 100, 40);
        b.iter(|| {
            let mut buf = ratatui::buffer::Buffer::empty(area);
            ebb::tui::panes::storage::render(black_box(&m), area, &theme, true, &mut buf);
            buf
        })
    });
    g.bench_function("full_160x48_5000_volumes", |b| {
        b.iter(|| render_buffer(black_box(&m), &keymap, &theme, 160, 48))
    });
    g.finish();
}

criterion_group!(benches, frames);

fn main() {
    let extra = lean_cache_rss();
    let (_, max) = watch_to_screen();
    benches();
    Criterion::default().configure_from_args().final_summary();
    assert!(
        extra <= RSS_BUDGET_MB,
        "lean cache: {extra:.1} MB > {RSS_BUDGET_MB} MB"
    );
    assert!(
        max <= LATENCY_BUDGET,
        "watch → screen: {max:?} > {LATENCY_BUDGET:?}"
    );
}
