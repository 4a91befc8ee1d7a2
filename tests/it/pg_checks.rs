//! PostgreSQL checks against real servers: replication lag idle, paused and resumed,
//! `sql` values, row counts and checksums against a baseline, schema versions, a dead server.

use std::time::{Duration, Instant};

use ebb::backends::postgres::{PgBaseline, ensure_schema, evaluate};
use ebb::engine::CheckOutcome;
use ebb::plan::{Check, CheckKind};
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::support::pg::PgCluster;

async fn pool(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(3))
        .connect(url)
        .await
        .expect("pool")
}

fn lag(replica: Option<&str>, max_ms: u64) -> CheckKind {
    CheckKind::ReplicationLag {
        replica: replica.map(str::to_string),
        max: Duration::from_millis(max_ms),
    }
}

/// Evaluates `kind` until `ok` holds (20 s at most); returns the last outcome.
async fn eventually(
    pool: &PgPool,
    kind: &CheckKind,
    what: &str,
    mut between: impl AsyncFnMut(),
    ok: impl Fn(&CheckOutcome) -> bool,
) -> CheckOutcome {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = evaluate(pool, kind, &PgBaseline::default()).await;
        if ok(&out) {
            return out;
        }
        assert!(Instant::now() < deadline, "never {what}: last {out:?}");
        between().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn fail_text(out: &CheckOutcome) -> &str {
    match out {
        CheckOutcome::Fail(r) => r,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_lag_passes_idle_fails_while_replay_is_paused_and_passes_after_resume() {
    let pg = PgCluster::start_with_standby();
    pg.execute("postgres", "CREATE TABLE t (id bigint, pad text)")
        .await;
    let pool = pool(&pg.primary_url("postgres")).await;
    // The heartbeat table lets the check make a standby report its replay position.
    ensure_schema(&pool).await.unwrap();
    pg.wait_standby_caught_up().await;

    let named = lag(Some("standby1"), 1000);
    let every = lag(None, 1000);
    let nothing = async || {};
    eventually(&pool, &named, "pass idle", nothing, |o| {
        *o == CheckOutcome::Pass
    })
    .await;
    assert_eq!(
        evaluate(&pool, &every, &PgBaseline::default()).await,
        CheckOutcome::Pass
    );
    assert_eq!(
        evaluate(&pool, &lag(Some("standby9"), 1000), &PgBaseline::default()).await,
        CheckOutcome::Fail("replica standby9 is not connected".into())
    );
    let by_addr = lag(Some("127.0.0.1"), 1000);
    assert_eq!(
        evaluate(&pool, &by_addr, &PgBaseline::default()).await,
        CheckOutcome::Pass,
        "a replica is matched on client_addr too"
    );

    let mut standby = pg.connect(&pg.standby_url("postgres")).await;
    sqlx::raw_sql("SELECT pg_wal_replay_pause()")
        .execute(&mut standby)
        .await
        .unwrap();
    let mut n = 0;
    let write = async || {
        n += 1;
        pg.execute(
            "postgres",
            &format!("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 1000) g -- {n}"),
        )
        .await;
    };
    let out = eventually(&pool, &named, "fail while paused", write, |o| {
        matches!(o, CheckOutcome::Fail(_))
    })
    .await;
    let why = fail_text(&out);
    assert!(why.starts_with("standby1 "), "names the replica: {why}");
    assert!(
        (why.contains(" lags ") && why.ends_with("(max 1s)")) || why.contains("bytes behind"),
        "{why}"
    );
    let out = evaluate(&pool, &every, &PgBaseline::default()).await;
    assert!(fail_text(&out).starts_with("standby1 "), "{out:?}");

    sqlx::raw_sql("SELECT pg_wal_replay_resume()")
        .execute(&mut standby)
        .await
        .unwrap();
    eventually(
        &pool,
        &named,
        "pass after resume",
        async || {},
        |o| *o == CheckOutcome::Pass,
    )
    .await;
    eventually(
        &pool,
        &every,
        "pass after resume",
        async || {},
        |o| *o == CheckOutcome::Pass,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_lag_on_a_standby_or_with_no_standby() {
    let pg = PgCluster::start_with_standby();
    let standby = pool(&pg.standby_url("postgres")).await;
    let out = evaluate(&standby, &lag(None, 1000), &PgBaseline::default()).await;
    assert!(
        matches!(&out, CheckOutcome::Inconclusive(r) if r.contains("standby")),
        "{out:?}"
    );
    let single = PgCluster::start();
    let primary = pool(&single.primary_url("postgres")).await;
    assert_eq!(
        evaluate(&primary, &lag(None, 1000), &PgBaseline::default()).await,
        CheckOutcome::Pass,
        "no standby, nothing lags"
    );
    assert_eq!(
        evaluate(
            &primary,
            &lag(Some("standby1"), 1000),
            &PgBaseline::default()
        )
        .await,
        CheckOutcome::Fail("replica standby1 is not connected".into())
    );
}

fn sql(query: &str, expect: toml::Value) -> CheckKind {
    CheckKind::Sql {
        query: query.to_string(),
        expect,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_checks_compare_the_first_value_and_report_what_came_back() {
    let pg = PgCluster::start();
    pg.execute(
        "postgres",
        "CREATE TABLE jobs (id int, state text);
         INSERT INTO jobs VALUES (1, 'stuck'), (2, 'stuck'), (3, 'stuck'), (4, 'done');",
    )
    .await;
    let pool = pool(&pg.primary_url("postgres")).await;
    let b = PgBaseline::default();
    use toml::Value::{Boolean, Float, Integer, String as Str};
    let pass = [
        sql(
            "SELECT count(*) FROM jobs WHERE state = 'stuck'",
            Integer(3),
        ),
        sql(
            "SELECT count(*) FROM jobs WHERE state = 'stuck'",
            Float(3.0),
        ),
        sql("SELECT 0.5::numeric", Float(0.5)),
        sql("SELECT 3.0::numeric", Integer(3)),
        sql("SELECT 9007199254740993::bigint", Integer(9007199254740993)),
        sql("SELECT true", Boolean(true)),
        sql(
            "SELECT state FROM jobs ORDER BY id DESC",
            Str("done".into()),
        ),
        sql("SELECT DATE '2024-01-02'", Str("2024-01-02".into())),
    ];
    for k in &pass {
        assert_eq!(evaluate(&pool, k, &b).await, CheckOutcome::Pass, "{k:?}");
    }
    let fail = [
        (
            sql(
                "SELECT count(*) FROM jobs WHERE state = 'stuck'",
                Integer(0),
            ),
            "query returned 3, expected 0",
        ),
        (
            sql("SELECT 9007199254740993::bigint", Integer(9007199254740992)),
            "query returned 9007199254740993, expected 9007199254740992",
        ),
        (
            sql("SELECT state FROM jobs WHERE id = 1", Integer(3)),
            "query returned \"stuck\" (text), expected 3",
        ),
        (
            sql("SELECT 1", Boolean(true)),
            "query returned 1, expected true",
        ),
        (
            sql("SELECT NULL::int", Integer(0)),
            "query returned NULL, expected 0",
        ),
        (
            sql("SELECT id FROM jobs WHERE false", Integer(0)),
            "query returned no rows, expected 0",
        ),
    ];
    for (k, why) in &fail {
        assert_eq!(
            evaluate(&pool, k, &b).await,
            CheckOutcome::Fail(why.to_string()),
            "{k:?}"
        );
    }
    // A bad query, a writing query (the check is read-only), a slow query.
    for (k, what) in [
        (sql("SELECT nope FROM jobs", Integer(0)), "42703"),
        (sql("DELETE FROM jobs RETURNING 1", Integer(1)), "read-only"),
        (
            sql("SELECT 1 FROM pg_sleep(10)", Integer(1)),
            "statement timeout",
        ),
    ] {
        let out = evaluate(&pool, &k, &b).await;
        assert!(
            matches!(&out, CheckOutcome::Inconclusive(r) if r.contains(what)),
            "{k:?}: {out:?}"
        );
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 4, "the check did not delete");
}

fn check(kind: CheckKind) -> Check {
    Check {
        target: "db".into(),
        kind,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_counts_and_checksums_compare_with_the_baseline() {
    let pg = PgCluster::start();
    pg.execute(
        "postgres",
        "CREATE SCHEMA app;
         CREATE TABLE app.\"Orders\" (id bigint PRIMARY KEY, v int, note text);
         INSERT INTO app.\"Orders\" SELECT g, g % 7, 'n' || g FROM generate_series(1, 10000) g;
         CREATE TABLE other (id int);",
    )
    .await;
    let pool = pool(&pg.primary_url("postgres")).await;
    let table = "app.Orders";
    let count = CheckKind::RowCount {
        table: table.into(),
        tolerance: 0.001,
    };
    let sum = CheckKind::TableChecksum {
        table: table.into(),
    };
    let checks = [
        check(count.clone()),
        check(sum.clone()),
        check(CheckKind::SchemaVersion { is: "1".into() }),
    ];
    let base = PgBaseline::capture(&pool, &checks).await.unwrap();
    assert_eq!(base.row_count(table), Some(10_000));
    assert!(base.has_checksum(table));
    assert_eq!(base.row_count("other"), None, "only what the checks name");

    assert_eq!(evaluate(&pool, &count, &base).await, CheckOutcome::Pass);
    assert_eq!(evaluate(&pool, &sum, &base).await, CheckOutcome::Pass);

    // Ten more rows: inside 0.1%. One changed value: same count, other checksum.
    pg.execute(
        "postgres",
        "INSERT INTO app.\"Orders\" SELECT g, 0, 'x' FROM generate_series(10001, 10010) g;",
    )
    .await;
    assert_eq!(evaluate(&pool, &count, &base).await, CheckOutcome::Pass);
    pg.execute(
        "postgres",
        "DELETE FROM app.\"Orders\" WHERE id > 10000; UPDATE app.\"Orders\" SET v = v + 1 WHERE id = 5000;",
    )
    .await;
    assert_eq!(evaluate(&pool, &count, &base).await, CheckOutcome::Pass);
    assert_eq!(
        evaluate(&pool, &sum, &base).await,
        CheckOutcome::Fail(
            "app.Orders checksum differs from the baseline (10000 rows now, 10000 then)".into()
        )
    );
    // Swapping two rows' values is a change; putting the row back restores the sum.
    pg.execute(
        "postgres",
        "UPDATE app.\"Orders\" SET v = v - 1 WHERE id = 5000;",
    )
    .await;
    assert_eq!(evaluate(&pool, &sum, &base).await, CheckOutcome::Pass);
    pg.execute(
        "postgres",
        "UPDATE app.\"Orders\" SET note = CASE id WHEN 1 THEN 'n2' ELSE 'n1' END WHERE id IN (1, 2);",
    )
    .await;
    assert!(matches!(
        evaluate(&pool, &sum, &base).await,
        CheckOutcome::Fail(_)
    ));

    // Eleven fewer rows: outside 0.1%.
    pg.execute("postgres", "DELETE FROM app.\"Orders\" WHERE id <= 11")
        .await;
    assert_eq!(
        evaluate(&pool, &count, &base).await,
        CheckOutcome::Fail(
            "app.Orders has 9989 rows, baseline 10000 (-0.11%), tolerance 0.1%".into()
        )
    );

    let unknown = CheckKind::RowCount {
        table: "other".into(),
        tolerance: 0.0,
    };
    assert!(matches!(
        evaluate(&pool, &unknown, &base).await,
        CheckOutcome::Inconclusive(r) if r.contains("no baseline")
    ));
    assert!(matches!(
        evaluate(
            &pool,
            &CheckKind::TableChecksum {
                table: "other".into()
            },
            &base
        )
        .await,
        CheckOutcome::Inconclusive(_)
    ));
    let missing = [check(CheckKind::RowCount {
        table: "nope".into(),
        tolerance: 0.0,
    })];
    let err = PgBaseline::capture(&pool, &missing).await.unwrap_err();
    assert!(err.contains("nope") && err.contains("42P01"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_version_reads_each_migration_table() {
    let pg = PgCluster::start();
    let cases = [
        (
            "sqlx",
            "CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, success boolean NOT NULL);
             INSERT INTO _sqlx_migrations VALUES (20240101, true), (20240202, true), (20240303, false)",
            "20240202",
        ),
        (
            "rails",
            "CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
             INSERT INTO schema_migrations VALUES ('20230101000000'), ('20230505000000')",
            "20230505000000",
        ),
        (
            "flyway",
            "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50),
                                                 success boolean NOT NULL);
             INSERT INTO flyway_schema_history VALUES (1, '1', true), (2, '1.1', true),
                                                      (3, NULL, true), (4, '1.2', false)",
            "1.1",
        ),
    ];
    for (db, ddl, version) in cases {
        pg.create_database(db).await;
        pg.execute(db, ddl).await;
        let pool = pool(&pg.primary_url(db)).await;
        let is = |v: &str| CheckKind::SchemaVersion { is: v.into() };
        let b = PgBaseline::default();
        assert_eq!(
            evaluate(&pool, &is(version), &b).await,
            CheckOutcome::Pass,
            "{db}"
        );
        assert_eq!(
            evaluate(&pool, &is("2"), &b).await,
            CheckOutcome::Fail(format!("schema version is {version}, expected 2")),
            "{db}"
        );
    }
    let pool = pool(&pg.primary_url("postgres")).await;
    let out = evaluate(
        &pool,
        &CheckKind::SchemaVersion { is: "1".into() },
        &PgBaseline::default(),
    )
    .await;
    assert!(matches!(out, CheckOutcome::Inconclusive(_)), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_or_a_foreign_kind_is_inconclusive() {
    let pg = PgCluster::start();
    let url = pg
        .primary_url("postgres")
        .replace("postgres@", "postgres:hunter2@");
    let pool = pool(&url).await;
    let b = PgBaseline::default();
    let vol = CheckKind::VolumeUsage {
        volume: "data".into(),
        max: 0.9,
    };
    assert_eq!(
        evaluate(&pool, &vol, &b).await,
        CheckOutcome::Inconclusive("volume_usage is not a PostgreSQL check".into())
    );
    drop(pg);
    pool.close().await;
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy(&url)
        .unwrap();
    for k in [
        lag(None, 1000),
        sql("SELECT 1", toml::Value::Integer(1)),
        CheckKind::SchemaVersion { is: "1".into() },
    ] {
        let started = Instant::now();
        let out = evaluate(&pool, &k, &b).await;
        match &out {
            CheckOutcome::Inconclusive(r) => assert!(!r.contains("hunter2"), "{r}"),
            other => panic!("{k:?}: {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{k:?}");
    }
    let err = PgBaseline::capture(
        &pool,
        &[check(CheckKind::TableChecksum { table: "t".into() })],
    )
    .await
    .unwrap_err();
    assert!(!err.contains("hunter2"), "{err}");
}
