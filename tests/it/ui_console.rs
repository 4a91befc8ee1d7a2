//! The watching console on TestBackend: two PostgreSQL targets (a primary with two
//! replicas, and a standby as its own source) grouped by target, one of them down.

use std::time::Duration;

use ebb::app::{Model, Msg, update};
use ebb::backends::postgres::source::PgTarget;
use ebb::backends::prometheus::source::PromTarget;
use ebb::backends::source::SourceTarget;
use ebb::cli::console::console_model;
use ebb::cli::screenshot::{SCREENSHOT_EPOCH, render_buffer};
use ebb::cli::watch::Watch;
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::sources::{
    MigrationPhase, MigrationSnapshot, MigrationStatus, Observation, Payload, ReplicaState,
    ReplicaStatus, ReplicationSnapshot, SlotStatus, SourceId, StorageSnapshot, VolumeStatus,
};
use ebb::text::DisplayText;
use ebb::time::Timestamp;
use ratatui::buffer::Buffer;

const INTERVAL: Duration = Duration::from_secs(2);

fn t(s: &str) -> DisplayText {
    DisplayText::new(s)
}

fn obs(source: &str, at: Timestamp, payload: Payload) -> Msg {
    Msg::Observation(Observation {
        source: SourceId(format!("pg:{source}")),
        at,
        interval: INTERVAL,
        payload,
    })
}

fn replica(name: &str, state: ReplicaState, lag: Option<u64>, bytes: u64) -> ReplicaStatus {
    ReplicaStatus {
        name: t(name),
        state,
        time_lag: lag.map(Duration::from_secs),
        byte_lag: bytes,
        replay_paused: false,
    }
}

fn primary(at: Timestamp) -> Vec<Msg> {
    vec![
        obs(
            "db",
            at,
            Payload::Replication(ReplicationSnapshot {
                primary: t("db"),
                wal_bytes_per_sec: 2.5e6,
                replicas: vec![
                    replica("db-standby", ReplicaState::Streaming, None, 0),
                    replica("analytics", ReplicaState::Catchup, Some(7), 48 << 20),
                ],
            }),
        ),
        obs(
            "db",
            at,
            Payload::Storage(StorageSnapshot {
                volumes: vec![VolumeStatus {
                    name: t("orders"),
                    owner: t("db database"),
                    used_bytes: 42 << 30,
                    capacity_bytes: 0,
                    growth_bytes_per_sec: 1.5e6,
                }],
                slots: vec![SlotStatus {
                    name: t("standby1"),
                    active: true,
                    retained_bytes: 16 << 20,
                    wal_status: t("reserved"),
                }],
                snapshots: Vec::new(),
            }),
        ),
        obs(
            "db",
            at,
            Payload::Migrations(MigrationSnapshot {
                schema_version: t("20261124030000"),
                migrations: vec![MigrationStatus {
                    name: t("CREATE INDEX CONCURRENTLY orders: building index"),
                    phase: MigrationPhase::Running,
                    rows_done: 1_200_000,
                    rows_total: 4_000_000,
                    rows_per_sec: 20_000.0,
                    batch_size: 0,
                    throttle: None,
                    error: None,
                }],
            }),
        ),
    ]
}

fn standby(at: Timestamp) -> Msg {
    obs(
        "db-standby",
        at,
        Payload::Replication(ReplicationSnapshot {
            primary: t("10.0.0.5:5432"),
            wal_bytes_per_sec: 2.4e6,
            replicas: vec![replica("db-standby", ReplicaState::Streaming, None, 0)],
        }),
    )
}

fn model() -> (
    Model,
    ebb::config::keymap::Keymap,
    ebb::config::theme::Theme,
) {
    let keymap = keymap_by_name("default").unwrap();
    let theme = theme_by_name("dark").unwrap();
    let target = |name: &str, port: u16| {
        PgTarget::from_url(
            name,
            &format!("postgres://ebb@10.0.0.{}:{port}/orders", port - 5427),
            INTERVAL,
            INTERVAL,
        )
        .map(SourceTarget::Pg)
        .unwrap()
    };
    let w = Watch {
        targets: vec![target("db", 5432), target("db-standby", 5433)],
        plan: None,
        unwatched: Vec::new(),
    };
    let t0 = SCREENSHOT_EPOCH;
    let mut m = console_model(&w, "oncall", t0);
    let mut msgs = primary(t0);
    msgs.push(standby(t0));
    // 20 s later the standby's server is gone; the primary keeps reporting.
    let later = t0.plus(Duration::from_secs(20));
    msgs.extend(primary(later));
    msgs.push(obs(
        "db-standby",
        later,
        Payload::Error(t(
            "connect: error communicating with database: Connection refused (os error 111)",
        )),
    ));
    msgs.push(Msg::Tick(later.plus(Duration::from_millis(500))));
    for msg in msgs {
        update(&mut m, &keymap, msg);
    }
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
fn two_postgres_targets_grouped_by_target_one_down() {
    let (m, k, th) = model();
    let out = text(&render_buffer(&m, &k, &th, 160, 48));
    assert!(out.contains("▸ db · primary · WAL"), "{out}");
    assert!(
        out.contains("✖ db-standby · last good 20s ago · connect:"),
        "{out}"
    );
    assert!(out.contains("analytics"), "{out}");
    // The standby is not a primary: it has no storage or migration figures of its own.
    assert!(out.contains("3 Storage ─"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn a_target_that_never_answered_is_listed_with_its_error() {
    let (mut m, k, th) = model();
    m.watched.push(SourceId("pg:reports".into()));
    let at = m.now;
    update(
        &mut m,
        &k,
        obs(
            "reports",
            at,
            Payload::Error(t("connect timed out after 2.0s")),
        ),
    );
    let out = text(&render_buffer(&m, &k, &th, 160, 48));
    assert!(
        out.contains("✖ reports · no figure yet · connect timed out"),
        "{out}"
    );
}

#[test]
fn a_console_of_standbys_only_says_why_storage_and_migrations_are_empty() {
    let keymap = keymap_by_name("default").unwrap();
    let theme = theme_by_name("dark").unwrap();
    let w = Watch {
        targets: vec![
            PgTarget::from_url("db-standby", "postgres://ebb@h/db", INTERVAL, INTERVAL)
                .map(SourceTarget::Pg)
                .unwrap(),
        ],
        plan: None,
        unwatched: Vec::new(),
    };
    let mut m = console_model(&w, "oncall", SCREENSHOT_EPOCH);
    update(&mut m, &keymap, standby(SCREENSHOT_EPOCH));
    let out = text(&render_buffer(&m, &keymap, &theme, 160, 48));
    assert!(
        out.contains("no primary among the targets: sizes and slots are read on a primary"),
        "{out}"
    );
    assert!(out.contains("migrations are read on a primary"), "{out}");
    assert!(!out.contains("waiting for"), "{out}");
}

#[test]
fn a_prometheus_target_is_grouped_beside_a_postgres_one() {
    let keymap = keymap_by_name("default").unwrap();
    let theme = theme_by_name("dark").unwrap();
    let w = Watch {
        targets: vec![
            PgTarget::from_url("db", "postgres://ebb@10.0.0.5/orders", INTERVAL, INTERVAL)
                .map(SourceTarget::Pg)
                .unwrap(),
            PromTarget::from_url(
                "metrics",
                "http://prom.internal:9090",
                None,
                INTERVAL,
                INTERVAL,
            )
            .map(SourceTarget::Prom)
            .unwrap(),
        ],
        plan: None,
        unwatched: Vec::new(),
    };
    let t0 = SCREENSHOT_EPOCH;
    let mut m = console_model(&w, "oncall", t0);
    let prom = |payload| {
        Msg::Observation(Observation {
            source: SourceId("prom:metrics".into()),
            at: t0,
            interval: INTERVAL,
            payload,
        })
    };
    let mut msgs = primary(t0);
    msgs.push(prom(Payload::Replication(ReplicationSnapshot {
        primary: t("metrics"),
        wal_bytes_per_sec: 2.5e6,
        replicas: vec![replica("db-1:5432", ReplicaState::Streaming, Some(12), 0)],
    })));
    msgs.push(prom(Payload::Storage(StorageSnapshot {
        volumes: vec![VolumeStatus {
            name: t("data-orders-0"),
            owner: t("pvc in shop"),
            used_bytes: 92 << 30,
            capacity_bytes: 100 << 30,
            growth_bytes_per_sec: 2.0e6,
        }],
        slots: Vec::new(),
        snapshots: Vec::new(),
    })));
    msgs.push(Msg::Tick(t0.plus(Duration::from_millis(500))));
    for msg in msgs {
        update(&mut m, &keymap, msg);
    }
    let out = text(&render_buffer(&m, &keymap, &theme, 160, 48));
    assert!(
        out.contains("▸ metrics · via Prometheus · primary WAL"),
        "{out}"
    );
    assert!(out.contains("db-1:5432"), "{out}");
    assert!(out.contains("data-orders-0"), "{out}");
    assert!(
        out.contains("watching metrics (Prometheus http://prom.internal:9090/"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}
