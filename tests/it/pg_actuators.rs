//! The PostgreSQL actuators against real servers: `sql` once per key with its marker,
//! lock timeouts, and `sql_batches` with checksum, crash-resume, pause and lag throttle.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ebb::backends::postgres::{
    BatchControl, BatchSpec, BatchesDone, apply_sql, ensure_schema, probe, run_batches,
};
use ebb::engine::{Probe, Progress};
use sqlx::Connection;
use sqlx::postgres::{PgPool, PgPoolOptions};
use tokio::sync::watch;

use crate::support::pg::PgCluster;

/// Not idempotent on purpose: a batch applied twice leaves `n = 2`.
const STMT: &str = "UPDATE t SET w = v * 2, n = n + 1 WHERE id >= $1 AND id < $2";
const EXPECTED: &str = "SELECT sum(hashtext((id, v, v * 2, 1)::text))::bigint FROM t";
const ACTUAL: &str = "SELECT sum(hashtext((id, v, w, n)::text))::bigint FROM t";

async fn pool(pg: &PgCluster) -> PgPool {
    PgPoolOptions::new()
        .max_connections(4)
        .connect(&pg.primary_url("postgres"))
        .await
        .expect("pool")
}

/// A pool with the marker table in place (tests count markers while a run goes on).
async fn pool_with_markers(pg: &PgCluster) -> PgPool {
    let pool = pool(pg).await;
    ensure_schema(&pool).await.unwrap();
    pool
}

async fn make_table(pg: &PgCluster, rows: i64) {
    pg.execute(
        "postgres",
        &format!(
            "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, w int, n int NOT NULL DEFAULT 0);
             INSERT INTO t (id, v) SELECT g, g % 1000 FROM generate_series(1, {rows}) g;"
        ),
    )
    .await;
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or(0)
}

async fn markers(pool: &PgPool, prefix: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM ebb.applied_steps WHERE starts_with(key, $1)")
        .bind(prefix)
        .fetch_one(pool)
        .await
        .expect("marker count")
}

struct Control {
    pause: watch::Sender<bool>,
    size: watch::Sender<u64>,
    progress: Progress,
    control: BatchControl,
}

fn control() -> Control {
    let (pause, pause_rx) = watch::channel(false);
    let (size, size_rx) = watch::channel(0);
    let progress: Progress = Arc::new(Mutex::new(None));
    let control = BatchControl::new(pause_rx, size_rx, progress.clone());
    Control {
        pause,
        size,
        progress,
        control,
    }
}

fn progress(p: &Progress) -> String {
    p.lock().unwrap().clone().unwrap_or_default()
}

async fn wait_for(what: &str, secs: u64, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sql_step_runs_once_per_key_with_its_marker() {
    let pg = PgCluster::start();
    pg.execute(
        "postgres",
        "CREATE TABLE c (n int); INSERT INTO c VALUES (0);",
    )
    .await;
    let pool = pool(&pg).await;
    let lock = Duration::from_secs(1);
    // No marker table yet: nothing can have happened.
    assert_eq!(probe(&pool, "run1/s1").await, Probe::NotHappened);

    let bump = "UPDATE c SET n = n + 1";
    apply_sql(&pool, "run1/s1", "s1", bump, lock).await.unwrap();
    assert_eq!(probe(&pool, "run1/s1").await, Probe::Happened);
    apply_sql(&pool, "run1/s1", "s1", bump, lock).await.unwrap();
    assert_eq!(
        scalar(&pool, "SELECT n::bigint FROM c").await,
        1,
        "ran once"
    );

    assert_eq!(probe(&pool, "run1/s1/undo").await, Probe::NotHappened);
    apply_sql(&pool, "run1/s1/undo", "s1", "UPDATE c SET n = n - 1", lock)
        .await
        .unwrap();
    assert_eq!(probe(&pool, "run1/s1/undo").await, Probe::Happened);
    assert_eq!(scalar(&pool, "SELECT n::bigint FROM c").await, 0);

    // A failing statement leaves no marker: effect and marker commit together.
    let err = apply_sql(
        &pool,
        "run1/s2",
        "s2",
        "UPDATE c SET n = 1; SELECT 1/0",
        lock,
    )
    .await
    .unwrap_err();
    assert!(err.contains("22012"), "{err}");
    assert_eq!(probe(&pool, "run1/s2").await, Probe::NotHappened);
    assert_eq!(scalar(&pool, "SELECT n::bigint FROM c").await, 0);

    // The server gone: the probe cannot tell.
    pool.close().await;
    drop(pg);
    let gone = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy("postgres://postgres@127.0.0.1:1/postgres")
        .unwrap();
    assert!(matches!(probe(&gone, "run1/s1").await, Probe::Unknown(_)));
}

#[tokio::test]
async fn sql_step_gives_up_on_a_held_lock_with_a_lock_timeout() {
    let pg = PgCluster::start();
    pg.execute(
        "postgres",
        "CREATE TABLE c (n int); INSERT INTO c VALUES (0);",
    )
    .await;
    let pool = pool(&pg).await;
    let mut holder = pg.connect(&pg.primary_url("postgres")).await;
    sqlx::raw_sql("BEGIN; LOCK TABLE c IN ACCESS EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();

    let lock = Duration::from_millis(100);
    let attempt = apply_sql(&pool, "r/s", "s", "UPDATE c SET n = n + 1", lock);
    let err = tokio::time::timeout(Duration::from_secs(15), attempt)
        .await
        .expect("apply_sql must not hang on a held lock")
        .unwrap_err();
    assert!(
        err.contains("lock timeout") && err.contains("55P03"),
        "{err}"
    );
    assert_eq!(probe(&pool, "r/s").await, Probe::NotHappened);

    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    apply_sql(&pool, "r/s", "s", "UPDATE c SET n = n + 1", lock)
        .await
        .unwrap();
    assert_eq!(scalar(&pool, "SELECT n::bigint FROM c").await, 1);
    let _ = holder.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_over_a_million_rows_give_the_expected_table() {
    let pg = PgCluster::start();
    make_table(&pg, 1_000_000).await;
    let pool = pool(&pg).await;
    let expected = scalar(&pool, EXPECTED).await;
    assert_ne!(scalar(&pool, ACTUAL).await, expected);

    let spec = BatchSpec::new("t", "id", 50_000, STMT);
    let c = control();
    let done = run_batches(&pool, "run1/backfill", &spec, &c.control)
        .await
        .unwrap();
    assert_eq!(
        done,
        BatchesDone::Finished {
            batches: 20,
            rows: 1_000_000
        }
    );
    assert_eq!(scalar(&pool, ACTUAL).await, expected);
    assert_eq!(markers(&pool, "run1/backfill/batch/").await, 20);
    assert!(
        progress(&c.progress).contains("1000000/1000000 rows"),
        "{}",
        progress(&c.progress)
    );

    // Again: every batch is already marked; nothing runs twice.
    let again = run_batches(&pool, "run1/backfill", &spec, &c.control)
        .await
        .unwrap();
    assert_eq!(again, done);
    assert_eq!(scalar(&pool, ACTUAL).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_resume_after_a_crash_without_applying_a_batch_twice() {
    let pg = PgCluster::start();
    make_table(&pg, 300_000).await;
    let pool = pool_with_markers(&pg).await;
    let expected = scalar(&pool, EXPECTED).await;
    let mut spec = BatchSpec::new("t", "id", 10_000, STMT);
    spec.max_rows_per_second = Some(100_000);

    // The first run dies (task aborted, its pool dropped) after a few batches.
    let first_pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&pg.primary_url("postgres"))
        .await
        .unwrap();
    let (s, c) = (spec.clone(), control());
    let task =
        tokio::spawn(
            async move { run_batches(&first_pool, "run1/backfill", &s, &c.control).await },
        );
    wait_for("a few batches", 15, async || {
        markers(&pool, "run1/backfill/batch/").await >= 4
    })
    .await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let before = markers(&pool, "run1/backfill/batch/").await;
    assert!(before < 30, "the first run finished before the crash");

    spec.max_rows_per_second = None;
    let c = control();
    let done = run_batches(&pool, "run1/backfill", &spec, &c.control)
        .await
        .unwrap();
    assert_eq!(
        done,
        BatchesDone::Finished {
            batches: 30,
            rows: 300_000
        }
    );
    assert_eq!(markers(&pool, "run1/backfill/batch/").await, 30);
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM t WHERE n <> 1").await,
        0
    );
    assert_eq!(scalar(&pool, ACTUAL).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_pause_at_a_boundary_and_take_a_new_batch_size() {
    let pg = PgCluster::start();
    make_table(&pg, 100_000).await;
    let pool = pool_with_markers(&pg).await;
    let expected = scalar(&pool, EXPECTED).await;
    let mut spec = BatchSpec::new("t", "id", 1_000, STMT);
    spec.max_rows_per_second = Some(20_000);

    let c = control();
    let (p, s) = (pool.clone(), spec.clone());
    let ctl = c.control.clone();
    let task = tokio::spawn(async move { run_batches(&p, "r/b", &s, &ctl).await });
    wait_for("a few batches", 15, async || {
        markers(&pool, "r/b/batch/").await >= 3
    })
    .await;
    c.pause.send(true).unwrap();
    let done = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("pause honoured")
        .unwrap()
        .unwrap();
    let BatchesDone::Paused { done_batches } = done else {
        panic!("expected Paused, got {done:?}");
    };
    assert!((3..100).contains(&done_batches), "{done_batches}");
    // At a boundary: exactly the committed batches' rows are done, each once.
    assert_eq!(markers(&pool, "r/b/batch/").await, done_batches as i64);
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM t WHERE n = 1").await,
        done_batches as i64 * 1_000
    );
    assert_eq!(scalar(&pool, "SELECT count(*) FROM t WHERE n > 1").await, 0);

    // Resume with a live batch size of 5,000 keys.
    c.pause.send(false).unwrap();
    c.size.send(5_000).unwrap();
    spec.max_rows_per_second = None;
    let done = run_batches(&pool, "r/b", &spec, &c.control).await.unwrap();
    let remaining = 100_000 - done_batches * 1_000;
    let expect_batches = done_batches + remaining.div_ceil(5_000);
    assert_eq!(
        done,
        BatchesDone::Finished {
            batches: expect_batches,
            rows: 100_000
        }
    );
    assert_eq!(markers(&pool, "r/b/batch/").await, expect_batches as i64);
    assert_eq!(scalar(&pool, ACTUAL).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_hold_while_replay_is_paused_and_go_on_after() {
    let pg = PgCluster::start_with_standby();
    make_table(&pg, 200_000).await;
    let pool = pool_with_markers(&pg).await;
    pg.wait_standby_caught_up().await;
    let expected = scalar(&pool, EXPECTED).await;
    let mut standby = pg.connect(&pg.standby_url("postgres")).await;
    sqlx::raw_sql("SELECT pg_wal_replay_pause()")
        .execute(&mut standby)
        .await
        .unwrap();

    let mut spec = BatchSpec::new("t", "id", 2_000, STMT);
    spec.max_rows_per_second = Some(40_000);
    spec.max_replication_lag = Some(Duration::from_secs(1));
    let c = control();
    let (p, s) = (pool.clone(), spec.clone());
    let ctl = c.control.clone();
    let task = tokio::spawn(async move { run_batches(&p, "r/b", &s, &ctl).await });

    let prog = c.progress.clone();
    wait_for("the throttle to hold", 15, async || {
        progress(&prog).contains("replica lag")
    })
    .await;
    let why = progress(&c.progress);
    assert!(
        why.contains("> 1s") && why.contains("bytes behind"),
        "{why}"
    );
    let held_at = markers(&pool, "r/b/batch/").await;
    assert!(held_at < 100, "held before the end");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        markers(&pool, "r/b/batch/").await,
        held_at,
        "no batch while held"
    );
    assert!(!task.is_finished());

    sqlx::raw_sql("SELECT pg_wal_replay_resume()")
        .execute(&mut standby)
        .await
        .unwrap();
    let done = tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("goes on after replay resumes")
        .unwrap()
        .unwrap();
    assert_eq!(
        done,
        BatchesDone::Finished {
            batches: 100,
            rows: 200_000
        }
    );
    assert_eq!(scalar(&pool, ACTUAL).await, expected);
    pg.wait_standby_caught_up().await;
    let on_standby: i64 = sqlx::query_scalar(ACTUAL)
        .fetch_one(&mut standby)
        .await
        .unwrap();
    assert_eq!(on_standby, expected);
    let _ = standby.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_retry_a_lock_that_is_released_in_time() {
    let pg = PgCluster::start();
    make_table(&pg, 10_000).await;
    let pool = pool_with_markers(&pg).await;
    let expected = scalar(&pool, EXPECTED).await;
    let mut holder = pg.connect(&pg.primary_url("postgres")).await;
    sqlx::raw_sql("BEGIN; LOCK TABLE t IN ROW EXCLUSIVE MODE; UPDATE t SET v = v WHERE id = 1")
        .execute(&mut holder)
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut holder)
            .await
            .unwrap();
        holder
    });
    let mut spec = BatchSpec::new("t", "id", 5_000, STMT);
    spec.lock_timeout = Duration::from_millis(100);
    let c = control();
    let done = tokio::time::timeout(
        Duration::from_secs(15),
        run_batches(&pool, "r/b", &spec, &c.control),
    )
    .await
    .expect("no hang")
    .unwrap();
    assert_eq!(
        done,
        BatchesDone::Finished {
            batches: 2,
            rows: 10_000
        }
    );
    assert_eq!(scalar(&pool, ACTUAL).await, expected);
    let _ = release.await.unwrap().close().await;
}

#[test]
fn lag_throttle_holds_above_the_limit_and_goes_below_the_low_mark() {
    use ebb::backends::postgres::{LagThrottle, StandbyLag};
    use std::time::Instant;
    let standby = |lsn: &str, bytes: u64, lag: Option<f64>| StandbyLag {
        name: "s1/42".into(),
        replay_lsn: lsn.into(),
        byte_lag: bytes,
        replay_lag: lag,
    };
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut th = LagThrottle::new(Some(Duration::from_secs(2)), None);
    // Caught up: a stale replay_lag means idle, not lag.
    assert_eq!(th.assess(&[standby("0/10", 0, Some(9.0))], at(0)), None);
    // Replay stands still with WAL outstanding (paused: replay_lag stays NULL).
    assert_eq!(th.assess(&[standby("0/10", 500, None)], at(100)), None);
    assert_eq!(th.assess(&[standby("0/10", 900, None)], at(1_900)), None);
    let why = th
        .assess(&[standby("0/10", 1_200, None)], at(2_200))
        .unwrap();
    assert!(
        why.starts_with("replica lag 2.2s > 2s (s1/42, 1200 bytes behind)"),
        "{why}"
    );
    // Replay moves again with replay_lag 1.8s: below the limit, above 80 % of it.
    let why = th
        .assess(&[standby("0/20", 300, Some(1.8))], at(2_400))
        .unwrap();
    assert!(why.contains("holding until < 1.6s"), "{why}");
    assert_eq!(
        th.assess(&[standby("0/30", 100, Some(1.5))], at(2_500)),
        None
    );
    assert!(!th.holding());

    let mut bytes = LagThrottle::new(None, Some(1_000));
    assert!(
        bytes
            .assess(&[standby("0/10", 1_001, None)], at(0))
            .is_some()
    );
    assert!(bytes.assess(&[standby("0/10", 900, None)], at(0)).is_some());
    assert_eq!(bytes.assess(&[standby("0/10", 700, None)], at(0)), None);
}
