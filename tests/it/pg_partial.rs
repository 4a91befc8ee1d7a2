//! A `sql_batches` step stopped or failing after part of its batches committed, and a step
//! whose postcheck fails after it applied, are undone by a rollback (real PostgreSQL).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::headless::{Headless, ebb, status_is};
use crate::support::pg::{PgCluster, app_scalar as scalar, make_app_table};

const ROWS: i64 = 100_000;
const BATCH: i64 = 1_000;

/// A database `app` with `t(id, v)` of `ROWS` rows, all `v = 0`.
fn make_table(pg: &PgCluster) {
    make_app_table(pg, ROWS);
}

/// Rows the backfill bumped and nothing has set back.
fn bumped(pg: &PgCluster) -> i64 {
    scalar(pg, "SELECT count(*) FROM t WHERE v <> 0")
}

fn write(dir: &Path, name: &str, plan: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, plan).unwrap();
    path
}

/// `bump` adds one to `v` in batches of `BATCH` keys (`statement` may fail on purpose);
/// its undo sets every `v` back in batches.
fn backfill_plan(rows_per_second: u64, statement: &str, on_failure: &str) -> String {
    format!(
        r#"[plan]
name = "bump"
description = "Bump every row, in batches"

[targets.db]
kind = "postgres"
url = "env:EBB_TEST_DB_URL"

[[step]]
id = "mark"
kind = "sql"
target = "db"
statement = "CREATE TABLE started ()"
undo = {{ statement = "DROP TABLE started" }}

[[step]]
id = "bump"
kind = "sql_batches"
target = "db"
table = "t"
key = "id"
batch = {BATCH}
statement = "{statement}"
throttle = {{ max_rows_per_second = {rows_per_second} }}
undo = {{ table = "t", key = "id", batch = {BATCH}, statement = "UPDATE t SET v = 0 WHERE id >= $1 AND id < $2" }}
on_failure = "{on_failure}"
"#
    )
}

fn run(home: &Path, pg: &PgCluster, plan: &Path) -> Headless {
    let mut c = ebb(home);
    c.env("EBB_TEST_DB_URL", pg.primary_url("app"))
        .args(["run", "--headless", "--json", "--yes"])
        .arg(plan);
    Headless::start(c)
}

fn rolled_back(v: &Value) -> bool {
    v["View"]["status"]["Finished"] == "RolledBack"
}

fn table_exists(pg: &PgCluster, name: &str) -> bool {
    scalar(
        pg,
        &format!("SELECT count(*) FROM pg_tables WHERE tablename = '{name}'"),
    ) == 1
}

#[test]
fn a_backfill_paused_mid_way_is_undone_by_a_rollback() {
    let pg = PgCluster::start();
    make_table(&pg);
    let home = tempfile::tempdir().unwrap();
    let statement = "UPDATE t SET v = v + 1 WHERE id >= $1 AND id < $2";
    let plan = write(
        home.path(),
        "bump.toml",
        &backfill_plan(20_000, statement, "pause"),
    );
    let mut h = run(home.path(), &pg, &plan);
    let start = Instant::now();
    while bumped(&pg) < 10 * BATCH {
        assert!(start.elapsed() < Duration::from_secs(60), "no batches");
        std::thread::sleep(Duration::from_millis(50));
    }
    h.send("pause");
    let paused = h.until_within(Duration::from_secs(30), |v| status_is(v, "Paused"));
    let done = paused["View"]["steps"][1]["status"]["Partial"]["done"]
        .as_str()
        .unwrap_or_else(|| panic!("not partial: {paused}"))
        .to_string();
    let landed = bumped(&pg);
    assert!(
        landed > 0 && landed < ROWS,
        "paused mid-way ({landed} rows)"
    );
    assert_eq!(
        done,
        format!("{} batches applied", landed / BATCH),
        "{paused}"
    );

    h.send("rollback the backfill is wrong");
    h.until_within(Duration::from_secs(60), rolled_back);
    assert_eq!(bumped(&pg), 0, "the backfill's undo ran over what landed");
    assert!(!table_exists(&pg, "started"), "then the step before it");
}

#[test]
fn a_backfill_failing_after_40_batches_and_a_failing_postcheck_are_undone() {
    let pg = PgCluster::start();
    make_table(&pg);
    let home = tempfile::tempdir().unwrap();
    // Batch 41 (keys from 40001) divides by zero; 40 batches are committed by then.
    let statement = "UPDATE t SET v = v + 1 / (CASE WHEN id = 40001 THEN 0 ELSE 1 END) WHERE id >= $1 AND id < $2";
    let plan = write(
        home.path(),
        "bump.toml",
        &backfill_plan(1_000_000, statement, "rollback"),
    );
    let mut h = run(home.path(), &pg, &plan);
    let note = h.until_within(Duration::from_secs(60), |v| {
        v["Note"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("bump failed"))
    });
    assert!(
        note["Note"]["text"]
            .as_str()
            .unwrap()
            .contains("after 40 batches applied"),
        "{note}"
    );
    h.until_within(Duration::from_secs(60), rolled_back);
    assert_eq!(bumped(&pg), 0, "the 40 committed batches were undone");
    assert!(!table_exists(&pg, "started"));

    // A step that applied and whose postcheck then fails is undone too.
    let plan = write(
        home.path(),
        "postcheck.toml",
        r#"[plan]
name = "postcheck"
description = "A table whose postcheck fails"

[targets.db]
kind = "postgres"
url = "env:EBB_TEST_DB_URL"

[[step]]
id = "create"
kind = "sql"
target = "db"
statement = "CREATE TABLE created ()"
undo = { statement = "DROP TABLE created" }
postcheck = [{ kind = "sql", target = "db", query = "SELECT count(*) FROM t WHERE v = 7", expect = 1 }]
on_failure = "rollback"
"#,
    );
    let mut h = run(home.path(), &pg, &plan);
    let end = h.until_within(Duration::from_secs(60), |v| {
        v["View"]["status"]["Finished"].is_string()
    });
    assert!(rolled_back(&end), "{end}");
    assert_eq!(end["View"]["steps"][0]["status"], "Compensated", "{end}");
    assert!(!table_exists(&pg, "created"), "its undo dropped the table");
}
