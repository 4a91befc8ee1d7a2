//! The PostgreSQL source against real servers: idle vs lagging replication seen from the
//! primary and from the standby, slots, schema versions, and a server that is not there.

use std::time::{Duration, Instant};

use ebb::backends::postgres::source::{self as pg, PgMemory, PgTarget};
use ebb::sources::{
    MigrationSnapshot, Observation, Payload, ReplicaState, ReplicaStatus, ReplicationSnapshot,
    StorageSnapshot,
};
use ebb::time::Timestamp;
use tokio::sync::mpsc;

use crate::support::pg::PgCluster;

const INTERVAL: Duration = Duration::from_millis(200);

async fn observe(c: &PgCluster, url: &str, name: &str, mem: &mut PgMemory) -> Vec<Observation> {
    let mut conn = c.connect(url).await;
    let out = pg::observe(&mut conn, name, mem, Timestamp::now(), INTERVAL)
        .await
        .unwrap_or_else(|e| panic!("observe {name}: {e}"));
    for o in &out {
        assert_eq!(o.source.0, format!("pg:{name}"));
        assert_eq!(o.interval, INTERVAL);
    }
    out
}

fn replication(obs: &[Observation]) -> ReplicationSnapshot {
    obs.iter()
        .find_map(|o| match &o.payload {
            Payload::Replication(r) => Some(r.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no replication payload in {obs:?}"))
}

fn storage(obs: &[Observation]) -> StorageSnapshot {
    obs.iter()
        .find_map(|o| match &o.payload {
            Payload::Storage(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no storage payload in {obs:?}"))
}

fn migrations(obs: &[Observation]) -> MigrationSnapshot {
    obs.iter()
        .find_map(|o| match &o.payload {
            Payload::Migrations(m) => Some(m.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no migrations payload in {obs:?}"))
}

fn only_replica(r: &ReplicationSnapshot) -> ReplicaStatus {
    assert_eq!(r.replicas.len(), 1, "one replica expected: {r:?}");
    r.replicas[0].clone()
}

/// Observes `url` until `ok` holds for its one replica row (generous deadline).
async fn poll_replica(
    c: &PgCluster,
    url: &str,
    name: &str,
    what: &str,
    ok: impl Fn(&ReplicaStatus) -> bool,
) -> ReplicaStatus {
    let mut mem = PgMemory::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = replication(&observe(c, url, name, &mut mem).await);
        if r.replicas.len() == 1 && ok(&r.replicas[0]) {
            return r.replicas[0].clone();
        }
        assert!(Instant::now() < deadline, "{name}: never {what}: {r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn is_idle(r: &ReplicaStatus) -> bool {
    r.byte_lag == 0 && r.time_lag.is_none() && !r.replay_paused
}

async fn sql(c: &PgCluster, url: &str, q: &str) {
    let mut conn = c.connect(url).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(q.to_string()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_standby_is_streaming_with_no_time_lag_not_zero() {
    let c = PgCluster::start_with_standby();
    c.wait_standby_caught_up().await;
    let primary = c.primary_url("postgres");
    let standby = c.standby_url("postgres");

    let r = poll_replica(&c, &primary, "db", "idle", is_idle).await;
    assert_eq!(r.state, ReplicaState::Streaming);
    assert_eq!(r.time_lag, None, "idle is None, not Some(0)");

    let obs = observe(&c, &primary, "db", &mut PgMemory::new()).await;
    let kinds: Vec<&str> = obs.iter().map(|o| o.payload.kind()).collect();
    assert_eq!(kinds, ["replication", "storage", "migrations"]);
    assert_eq!(replication(&obs).primary.as_str(), "db");
    assert_eq!(migrations(&obs).schema_version.as_str(), "none");

    // The standby sees itself: one row, idle, not paused, streaming.
    let s = poll_replica(&c, &standby, "db-standby", "idle", is_idle).await;
    assert_eq!(s.name.as_str(), "db-standby");
    assert_eq!(s.state, ReplicaState::Streaming);
    let obs = observe(&c, &standby, "db-standby", &mut PgMemory::new()).await;
    let kinds: Vec<&str> = obs.iter().map(|o| o.payload.kind()).collect();
    assert_eq!(kinds, ["replication"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_replay_shows_growing_lag_then_idle_after_resume() {
    let c = PgCluster::start_with_standby();
    let primary = c.primary_url("postgres");
    let standby = c.standby_url("postgres");
    c.execute("postgres", "CREATE TABLE t (id bigint, pad text)")
        .await;
    c.wait_standby_caught_up().await;

    sql(&c, &standby, "SELECT pg_wal_replay_pause()").await;
    let mut mem = PgMemory::new();
    let mut lags = Vec::new();
    for i in 0..4 {
        c.execute(
            "postgres",
            &format!(
                "INSERT INTO t SELECT g, repeat('x', 50) FROM generate_series({}, {}) g",
                i * 25_000,
                i * 25_000 + 24_999
            ),
        )
        .await;
        let r = only_replica(&replication(&observe(&c, &primary, "db", &mut mem).await));
        lags.push(r.byte_lag);
        assert!(r.byte_lag > 0, "behind after a write: {r:?}");
        assert!(r.time_lag.is_some(), "behind is not idle: {r:?}");
        assert!(!r.replay_paused, "a pause cannot be seen from the primary");
    }
    assert!(
        lags.windows(2).all(|w| w[1] > w[0]),
        "byte lag grows while replay is paused: {lags:?}"
    );
    let r = replication(&observe(&c, &primary, "db", &mut mem).await);
    assert!(r.wal_bytes_per_sec >= 0.0);

    // The standby receives but does not replay.
    let s = poll_replica(&c, &standby, "db-standby", "behind", |r| r.byte_lag > 0).await;
    assert!(s.replay_paused, "{s:?}");
    assert_eq!(s.state, ReplicaState::Stalled);
    assert!(
        s.time_lag.is_some(),
        "paused with WAL outstanding has a time lag: {s:?}"
    );

    sql(&c, &standby, "SELECT pg_wal_replay_resume()").await;
    let s = poll_replica(&c, &standby, "db-standby", "idle after resume", is_idle).await;
    assert_eq!(s.state, ReplicaState::Streaming);
    poll_replica(&c, &primary, "db", "idle after resume", is_idle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_slot_shows_retained_wal_and_databases_their_size() {
    let c = PgCluster::start();
    let url = c.primary_url("postgres");
    c.execute(
        "postgres",
        "SELECT pg_create_physical_replication_slot('stale', true)",
    )
    .await;
    let mut mem = PgMemory::new();
    let first = observe(&c, &url, "db", &mut mem).await;
    c.execute(
        "postgres",
        "CREATE TABLE w AS SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 50000) g",
    )
    .await;
    c.execute("postgres", "SELECT pg_switch_wal()").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = observe(&c, &url, "db", &mut mem).await;

    let s = storage(&second);
    let slot = s
        .slots
        .iter()
        .find(|s| s.name.as_str() == "stale")
        .unwrap_or_else(|| panic!("slot missing: {s:?}"));
    assert!(!slot.active);
    assert!(slot.retained_bytes > 0, "{slot:?}");
    assert_eq!(slot.wal_status.as_str(), "reserved");

    let before = storage(&first);
    let db = |s: &StorageSnapshot| {
        s.volumes
            .iter()
            .find(|v| v.name.as_str() == "postgres")
            .cloned()
            .unwrap_or_else(|| panic!("no postgres volume: {s:?}"))
    };
    let (v0, v1) = (db(&before), db(&s));
    assert!(v1.used_bytes > v0.used_bytes, "{v0:?} → {v1:?}");
    assert!(v1.growth_bytes_per_sec > 0.0, "{v1:?}");
    assert_eq!(
        v1.capacity_bytes, 0,
        "the disk size is not known to PostgreSQL"
    );
    assert_eq!(v0.growth_bytes_per_sec, 0.0, "no rate from one observation");

    let r = replication(&second);
    assert!(r.replicas.is_empty());
    assert!(r.wal_bytes_per_sec > 0.0, "WAL was written: {r:?}");

    // What the responder sees: the Storage pane flags the inactive slot and its WAL.
    let keymap = ebb::config::keymap_by_name("default").unwrap();
    let theme = ebb::config::theme_by_name("dark").unwrap();
    let mut model = ebb::app::Model::new(
        ebb::text::DisplayText::new("console: db"),
        ebb::text::DisplayText::new("oncall"),
        second[0].at,
    );
    for o in second {
        ebb::app::update(&mut model, &keymap, ebb::app::Msg::Observation(o));
    }
    let area = ratatui::layout::Rect::new(0, 0, 100, 16);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    ebb::tui::panes::storage::render(&model, area, &theme, false, &mut buf);
    let text: String = (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                + "\n"
        })
        .collect();
    let line = text
        .lines()
        .find(|l| l.contains("stale"))
        .unwrap_or_else(|| panic!("no slot line:\n{text}"));
    assert!(
        line.contains("INACTIVE") && line.contains("retains"),
        "{line}"
    );
    let warn = theme.warn.fg;
    let y = text.lines().position(|l| l.contains("stale")).unwrap() as u16;
    let x = line.find("INACTIVE").unwrap();
    let x = line[..x].chars().count() as u16;
    assert_eq!(
        buf[(x, y)].fg,
        warn.unwrap(),
        "INACTIVE is drawn as a warning"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_version_comes_from_the_migration_table_present() {
    let c = PgCluster::start();
    for (db, setup, want) in [
        (
            "sqlx",
            "CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, success boolean NOT NULL); \
             INSERT INTO _sqlx_migrations VALUES (20240101, true), (20240202, true), (20240303, false)",
            "20240202",
        ),
        (
            "golang",
            "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); \
             INSERT INTO schema_migrations VALUES (42, false)",
            "42",
        ),
        (
            "rails",
            "CREATE TABLE schema_migrations (version varchar PRIMARY KEY); \
             INSERT INTO schema_migrations VALUES ('20230101000000'), ('20230505000000')",
            "20230505000000",
        ),
        (
            "flyway",
            "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), \
                 success boolean NOT NULL); \
             INSERT INTO flyway_schema_history VALUES (1, '1', true), (2, '1.1', true), (3, NULL, true), \
                 (4, '2', false)",
            "1.1",
        ),
    ] {
        c.create_database(db).await;
        c.execute(db, setup).await;
        let obs = observe(&c, &c.primary_url(db), db, &mut PgMemory::new()).await;
        let m = migrations(&obs);
        assert_eq!(m.schema_version.as_str(), want, "{db}");
        assert!(m.migrations.is_empty(), "nothing running: {m:?}");
    }
}

async fn next_error(rx: &mut mpsc::Receiver<Observation>, within: Duration) -> String {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let o = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("an error observation in time")
            .expect("task alive");
        if let Payload::Error(e) = o.payload {
            assert_eq!(o.source.0, "pg:gone");
            return e.as_str().to_string();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_sends_an_error_without_the_password_and_the_task_ends() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (tx, mut rx) = mpsc::channel(16);
    let timeout = Duration::from_secs(2);
    let task = pg::spawn(
        PgTarget::from_url(
            "gone",
            &format!("postgres://ebb:hunter2@127.0.0.1:{port}/postgres"),
            INTERVAL,
            timeout,
        )
        .unwrap(),
        tx,
    );
    // The first tick is immediate; the error arrives within the connect timeout.
    let e = next_error(&mut rx, timeout + Duration::from_secs(3)).await;
    assert!(!e.contains("hunter2"), "{e}");
    // And again on the next tick: it keeps trying.
    let e = next_error(&mut rx, timeout + Duration::from_secs(3)).await;
    assert!(!e.contains("hunter2"), "{e}");
    drop(rx);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the task ends when its receiver is gone")
        .expect("the task did not panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_server_turns_observations_into_errors() {
    let c = PgCluster::start();
    let (tx, mut rx) = mpsc::channel(16);
    let timeout = Duration::from_secs(2);
    let task = pg::spawn(
        PgTarget::from_url("gone", &c.primary_url("postgres"), INTERVAL, timeout).unwrap(),
        tx,
    );
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an observation")
        .expect("task alive");
    assert!(
        matches!(first.payload, Payload::Replication(_)),
        "{first:?}"
    );
    drop(c); // stops the server
    next_error(&mut rx, timeout + Duration::from_secs(5)).await;
    drop(rx);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the task ends when its receiver is gone")
        .expect("the task did not panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_create_index_shows_as_a_running_migration() {
    use sqlx::Connection;
    let c = PgCluster::start();
    let url = c.primary_url("postgres");
    c.execute(
        "postgres",
        "CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 1000) g",
    )
    .await;
    // An open writing transaction holds CREATE INDEX CONCURRENTLY in its first wait.
    let mut writer = c.connect(&url).await;
    sqlx::raw_sql("BEGIN; INSERT INTO big VALUES (0)")
        .execute(&mut writer)
        .await
        .unwrap();
    let mut builder = c.connect(&url).await;
    let build = tokio::spawn(async move {
        sqlx::raw_sql("CREATE INDEX CONCURRENTLY big_id ON big (id)")
            .execute(&mut builder)
            .await
            .map(|_| ())
    });

    let mut mem = PgMemory::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let running = loop {
        let m = migrations(&observe(&c, &url, "db", &mut mem).await);
        // PostgreSQL reports "initializing" for a moment before the build's first wait.
        if let Some(op) = m.migrations.iter().find(|m| {
            m.name.as_str().starts_with("CREATE INDEX CONCURRENTLY big")
                && !m.name.as_str().ends_with(": initializing")
        }) {
            break op.clone();
        }
        assert!(Instant::now() < deadline, "no index build seen: {m:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(running.phase, ebb::sources::MigrationPhase::Running);
    assert!(
        running.name.as_str().contains("waiting for"),
        "PostgreSQL's phase is in the name: {running:?}"
    );

    sqlx::raw_sql("COMMIT").execute(&mut writer).await.unwrap();
    let _ = writer.close().await;
    tokio::time::timeout(Duration::from_secs(30), build)
        .await
        .expect("index built")
        .expect("task")
        .expect("CREATE INDEX");
    let m = migrations(&observe(&c, &url, "db", &mut mem).await);
    assert!(m.migrations.is_empty(), "finished: {m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_instead_of_hanging() {
    // Accepts TCP connections (the kernel backlog does) but never speaks.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (tx, mut rx) = mpsc::channel(16);
    let timeout = Duration::from_millis(500);
    let task = pg::spawn(
        PgTarget::from_url(
            "gone",
            &format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            INTERVAL,
            timeout,
        )
        .unwrap(),
        tx,
    );
    let e = next_error(&mut rx, Duration::from_secs(10)).await;
    assert!(e.contains("timed out"), "{e}");
    drop(rx);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the task ends when its receiver is gone")
        .expect("the task did not panic");
    drop(silent);
}
