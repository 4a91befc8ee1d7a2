//! Kubernetes figures on TestBackend: StatefulSet rollouts in the Workload pane and claims
//! with usage, phase and snapshots in the Storage pane, grouped by target beside a
//! PostgreSQL one; a target that went down; a small terminal; 5,000 claims that scroll.

use std::time::Duration;

use ebb::app::{Model, Msg, PaneId, update};
use ebb::backends::kubernetes::source::KubeTarget;
use ebb::backends::postgres::source::PgTarget;
use ebb::backends::source::SourceTarget;
use ebb::cli::console::console_model;
use ebb::cli::screenshot::{SCREENSHOT_EPOCH, render_buffer};
use ebb::cli::watch::Watch;
use ebb::config::keymap::Keymap;
use ebb::config::theme::Theme;
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::plan::{Target, TargetKind};
use ebb::sources::kube::{ClaimStatus, KubeSnapshot, RolloutStatus};
use ebb::sources::{
    Observation, Payload, PodStatus, SnapshotState, SnapshotStatus, SourceId, StorageSnapshot,
    VolumeStatus,
};
use ebb::text::DisplayText;
use ebb::time::Timestamp;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

const INTERVAL: Duration = Duration::from_secs(2);

fn t(s: &str) -> DisplayText {
    DisplayText::new(s)
}

fn kube_target(name: &str) -> KubeTarget {
    KubeTarget {
        target: Target {
            name: name.into(),
            kind: TargetKind::Kubernetes,
            url: None,
            ca: None,
            object: None,
            context: Some("prod".into()),
            namespace: Some("shop".into()),
        },
        interval: INTERVAL,
        timeout: INTERVAL,
    }
}

fn obs(source: &str, at: Timestamp, payload: Payload) -> Msg {
    Msg::Observation(Observation {
        source: SourceId(source.into()),
        at,
        interval: INTERVAL,
        payload,
    })
}

fn claim(name: &str, phase: &str, used: Option<u64>, cap: u64, pod: Option<&str>) -> ClaimStatus {
    ClaimStatus {
        name: t(name),
        phase: t(phase),
        capacity_bytes: cap,
        used_bytes: used,
        growth_bytes_per_sec: if used.is_some() {
            2.0 * 1024.0 * 1024.0
        } else {
            0.0
        },
        pod: pod.map(t),
    }
}

fn figures(at: Timestamp) -> KubeSnapshot {
    KubeSnapshot {
        namespace: t("shop"),
        statefulsets: vec![
            RolloutStatus {
                name: t("orders-app"),
                replicas: 3,
                ready: 2,
                updated: 1,
                current_revision: t("7d9f (r6)"),
                update_revision: t("5c4b (r7)"),
                partition: 2,
                unready: vec![PodStatus {
                    name: t("orders-app-2"),
                    revision: t("5c4b"),
                    phase: t("Running"),
                    ready: false,
                    restarts: 7,
                    reason: Some(t("CrashLoopBackOff")),
                }],
            },
            RolloutStatus {
                name: t("orders-db"),
                replicas: 3,
                ready: 3,
                updated: 3,
                current_revision: t("6f8d (r2)"),
                update_revision: t("6f8d (r2)"),
                partition: 0,
                unready: Vec::new(),
            },
        ],
        volumes: vec![
            claim(
                "data-orders-db-0",
                "Bound",
                Some(47 << 30),
                50 << 30,
                Some("orders-db-0"),
            ),
            claim("wal-restore", "Pending", None, 20 << 30, None),
            claim(
                "data-orders-db-1",
                "Bound",
                Some(21 << 30),
                50 << 30,
                Some("orders-db-1"),
            ),
            claim(
                "data-orders-db-2",
                "Bound",
                None,
                50 << 30,
                Some("orders-db-2"),
            ),
        ],
        snapshots: vec![
            SnapshotStatus {
                name: t("data-orders-db-0-pre-0042"),
                volume: t("data-orders-db-0"),
                state: SnapshotState::Pending,
                created_at: at.plus(Duration::ZERO),
            },
            SnapshotStatus {
                name: t("data-orders-db-0-nightly"),
                volume: t("data-orders-db-0"),
                state: SnapshotState::Ready,
                created_at: Timestamp(at.0 - 6 * 3600 * 1000),
            },
        ],
    }
}

fn pg_storage() -> Payload {
    Payload::Storage(StorageSnapshot {
        volumes: vec![VolumeStatus {
            name: t("orders"),
            owner: t("database"),
            used_bytes: 12 << 30,
            capacity_bytes: 0,
            growth_bytes_per_sec: 0.0,
        }],
        slots: Vec::new(),
        snapshots: Vec::new(),
    })
}

fn setup(pg: bool) -> (Model, Keymap, Theme) {
    let keymap = keymap_by_name("default").unwrap();
    let theme = theme_by_name("dark").unwrap();
    let mut targets = if pg {
        vec![SourceTarget::Pg(
            PgTarget::from_url("db", "postgres://ebb@10.0.0.5/orders", INTERVAL, INTERVAL).unwrap(),
        )]
    } else {
        Vec::new()
    };
    targets.push(SourceTarget::Kube(kube_target("k8s")));
    let w = Watch {
        targets,
        plan: None,
        unwatched: Vec::new(),
    };
    let t0 = SCREENSHOT_EPOCH;
    let mut m = console_model(&w, "oncall", t0);
    update(
        &mut m,
        &keymap,
        obs("kube:k8s", t0, Payload::Kube(figures(t0))),
    );
    if pg {
        update(&mut m, &keymap, obs("pg:db", t0, pg_storage()));
    }
    update(
        &mut m,
        &keymap,
        Msg::Tick(t0.plus(Duration::from_millis(500))),
    );
    (m, keymap, theme)
}

fn text(buf: &Buffer) -> String {
    let a = buf.area;
    let mut s = String::new();
    for y in 0..a.height {
        for x in 0..a.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

#[test]
fn a_kubernetes_target_shows_its_rollout_claims_and_snapshots() {
    let (m, k, th) = setup(false);
    let out = text(&render_buffer(&m, &k, &th, 160, 48));
    assert!(out.contains("orders-app"), "{out}");
    assert!(out.contains("ready 2/3"), "{out}");
    assert!(out.contains("rev 7d9f (r6) → 5c4b (r7)"), "{out}");
    assert!(out.contains("CrashLoopBackOff"), "{out}");
    assert!(out.contains("restarts 7"), "{out}");
    assert!(out.contains("wal-restore"), "{out}");
    assert!(out.contains("Pending"), "{out}");
    assert!(out.contains("94.0%"), "{out}");
    assert!(out.contains("usage unknown"), "{out}");
    assert!(out.contains("data-orders-db-0-nightly"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn kubernetes_beside_postgres_grouped_by_target_with_the_kubernetes_one_down() {
    let (mut m, k, th) = setup(true);
    let later = SCREENSHOT_EPOCH.plus(Duration::from_secs(30));
    update(&mut m, &k, obs("pg:db", later, pg_storage()));
    update(
        &mut m,
        &k,
        obs(
            "kube:k8s",
            later,
            Payload::Error(t("target k8s: API server: no answer within 2.0s")),
        ),
    );
    update(&mut m, &k, Msg::Tick(later));
    let out = text(&render_buffer(&m, &k, &th, 160, 48));
    assert!(out.contains("▸ db"), "{out}");
    assert!(
        out.contains("✖ k8s · last good 30s ago · target k8s: API server: no answer"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn kubernetes_figures_on_a_small_terminal() {
    let (m, k, th) = setup(false);
    let out = text(&render_buffer(&m, &k, &th, 80, 24));
    insta::assert_snapshot!(out);
}

#[test]
fn five_thousand_claims_scroll_and_only_the_rows_on_screen_are_drawn() {
    let (mut m, k, th) = setup(false);
    let mut fig = figures(SCREENSHOT_EPOCH);
    fig.volumes = (0..5000)
        .map(|i| {
            claim(
                &format!("data-db-{i:04}"),
                "Bound",
                Some(i as u64 * 1000),
                5_000_000,
                None,
            )
        })
        .collect();
    update(
        &mut m,
        &k,
        obs("kube:k8s", SCREENSHOT_EPOCH, Payload::Kube(fig)),
    );
    let area = Rect::new(0, 0, 100, 20);
    let draw = |m: &Model| {
        let mut buf = Buffer::empty(area);
        ebb::tui::panes::storage::render(m, area, &th, true, &mut buf);
        text(&buf)
    };
    let top = draw(&m);
    assert!(top.contains("data-db-0000"), "{top}");
    assert!(!top.contains("data-db-0100"), "{top}");
    m.scroll.insert(PaneId::Storage, 4000);
    let mid = draw(&m);
    assert!(mid.contains("data-db-4000"), "{mid}");
    m.scroll.insert(PaneId::Storage, usize::MAX);
    let end = draw(&m);
    assert!(
        end.contains("data-orders-db-0-nightly"),
        "the last rows: {end}"
    );
    assert!(
        ebb::app::dispatch::content_len(&m, PaneId::Storage) >= 5002,
        "scrolling reaches them"
    );
}
