//! Plans with `sql_batches` run by the real binary against a real PostgreSQL: SIGKILLed
//! mid-run then resumed gives exactly the expected table; a stopped primary pauses the run.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::headless::{Headless, ebb, runs, status_is};
use crate::support::pg::{PgCluster, app_scalar as scalar, make_app_table};

const ROWS: i64 = 1_000_000;
const BATCH: i64 = 10_000;

/// A database `app` with `t(id, v)` of `ROWS` rows, all `v = 0`.
fn make_table(pg: &PgCluster) {
    make_app_table(pg, ROWS);
}

/// Committed batch markers of the plan's `bump` step.
fn batch_markers(pg: &PgCluster) -> i64 {
    scalar(
        pg,
        "SELECT count(*) FROM ebb.applied_steps WHERE key LIKE '%/bump/batch/%'",
    )
}

/// A plan bumping every row's `v` once, in rate-limited batches, then recording it.
fn write_plan(dir: &Path, rows_per_second: u64) -> std::path::PathBuf {
    let plan = format!(
        r#"[plan]
name = "bump-every-row"
description = "Add one to every row, in batches"

[targets.db]
kind = "postgres"
url = "env:EBB_TEST_DB_URL"

[[step]]
id = "bump"
kind = "sql_batches"
target = "db"
table = "t"
key = "id"
batch = {BATCH}
statement = "UPDATE t SET v = v + 1 WHERE id >= $1 AND id < $2"
throttle = {{ max_rows_per_second = {rows_per_second} }}
undo = {{ kind = "sql", statement = "UPDATE t SET v = 0" }}

[[step]]
id = "record"
kind = "sql"
target = "db"
statement = "CREATE TABLE bumped (at timestamptz DEFAULT now())"
undo = {{ statement = "DROP TABLE bumped" }}
"#
    );
    let path = dir.join("bump.toml");
    std::fs::write(&path, plan).unwrap();
    path
}

fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every row bumped exactly once, every batch committed once, the last step done.
fn assert_exact(pg: &PgCluster) {
    assert_eq!(
        scalar(pg, "SELECT count(*) FROM t WHERE v <> 1"),
        0,
        "every row bumped exactly once"
    );
    assert_eq!(scalar(pg, "SELECT sum(v)::bigint FROM t"), ROWS);
    // The committed batches' ranges tile the keys exactly: none twice, none missing.
    assert_eq!(
        scalar(
            pg,
            "SELECT sum((detail->>'hi')::bigint - split_part(key, '/batch/', 2)::bigint)::bigint
             FROM ebb.applied_steps WHERE key LIKE '%/bump/batch/%'"
        ),
        ROWS
    );
    assert_eq!(scalar(pg, "SELECT count(*) FROM bumped"), 0, "record ran");
}

fn completed(v: &Value) -> bool {
    status_is(v, "Finished") || v["View"]["status"]["Finished"] == "Completed"
}

#[test]
fn sql_batches_killed_mid_run_then_resumed_bumps_every_row_once() {
    let pg = PgCluster::start();
    make_table(&pg);
    let home = tempfile::tempdir().unwrap();
    let plan = write_plan(home.path(), 250_000);
    let url = pg.primary_url("app");
    let mut run = ebb(home.path());
    run.env("EBB_TEST_DB_URL", &url)
        .args(["run", "--headless", "--json", "--yes"])
        .arg(&plan);
    let mut first = Headless::start(run);
    wait_until("some batches", Duration::from_secs(60), || {
        batch_markers(&pg) >= 20
    });
    // SAFETY: signalling our own child by pid.
    unsafe {
        libc::kill(first.pid() as i32, libc::SIGKILL);
    }
    assert!(first.wait_exit(Duration::from_secs(10)));
    let cut = batch_markers(&pg);
    assert!(cut < ROWS / BATCH, "killed mid-run ({cut} batches)");
    let id = runs(home.path())[0]["id"].as_str().unwrap().to_string();

    let mut resume = ebb(home.path());
    resume
        .env("EBB_TEST_DB_URL", &url)
        .args(["resume", "--headless", "--json", "--yes", &id]);
    let mut second = Headless::start(resume);
    let note = second.until(|v| {
        v["Note"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("in flight at the crash"))
    });
    assert!(
        note["Note"]["text"].as_str().unwrap().contains("cut off"),
        "{note}"
    );
    second.until_within(Duration::from_secs(120), completed);
    assert_exact(&pg);
}

#[test]
fn a_stopped_primary_pauses_the_run_inconclusive_and_it_resumes_when_back() {
    let pg = PgCluster::start();
    make_table(&pg);
    let home = tempfile::tempdir().unwrap();
    let plan = write_plan(home.path(), 100_000);
    let mut run = ebb(home.path());
    run.env("EBB_TEST_DB_URL", pg.primary_url("app"))
        .args(["run", "--headless", "--json", "--yes"])
        .arg(&plan);
    let mut h = Headless::start(run);
    wait_until("some batches", Duration::from_secs(60), || {
        batch_markers(&pg) >= 10
    });
    pg.stop_primary();
    let paused = h.until_within(Duration::from_secs(60), |v| status_is(v, "Paused"));
    let reason = paused["View"]["pause"]["text"].as_str().unwrap_or_default();
    assert!(reason.contains("inconclusive"), "{paused}");
    // Part of it landed: a rollback would undo it, going on continues it.
    assert!(
        paused["View"]["steps"][0]["status"]["Partial"]["done"]
            .as_str()
            .is_some_and(|d| d.ends_with("batches applied")),
        "{paused}"
    );
    pg.start_primary();
    h.send("resume");
    // Halved from the next batch on, through the same dispatch as the `b -` keys.
    h.until(|v| v["View"]["steps"][0]["status"]["Running"]["attempt"].as_u64() >= Some(2));
    // JSON views repeat only on change; give the console a second of batch figures.
    std::thread::sleep(Duration::from_millis(1500));
    h.send("smaller");
    h.until_within(Duration::from_secs(120), completed);
    assert_exact(&pg);
    let halves = scalar(
        &pg,
        &format!(
            "SELECT count(*) FROM ebb.applied_steps WHERE key LIKE '%/bump/batch/%'
             AND (detail->>'hi')::bigint - split_part(key, '/batch/', 2)::bigint = {}",
            BATCH / 2
        ),
    );
    assert!(halves > 0, "no batch of the halved size");
}
