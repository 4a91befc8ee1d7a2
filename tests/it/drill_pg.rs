//! A postgres plan rehearsed on the drill world: batches move the backfill's rows, sql
//! checks read the simulated table, dropping the backfill's columns down-migrates, and a
//! query the world cannot answer pauses the run for a human.

use crate::support::headless::{Headless, ebb};

const REVERT: &str = r#"[plan]
name = "revert-0042"
description = "Null the backfilled columns, then drop them"

[targets.db]
kind = "postgres"
url = "env:ORDERS_DB_URL"

[[gate]]
name = "replicas caught up"
check = { kind = "replication_lag", target = "db", max = "30s" }

[[step]]
id = "revert-backfill"
kind = "sql_batches"
target = "db"
table = "orders"
key = "id"
batch = 50000
statement = "UPDATE orders SET address_line1 = NULL, address_line2 = NULL WHERE id >= $1 AND id < $2"
throttle = { max_rows_per_second = 4000000 }
preflight = [{ kind = "sql", target = "db", query = "SELECT count(*) FROM orders WHERE address_line1 IS NULL", expect = 0 }]
postcheck = [{ kind = "sql", target = "db", query = "SELECT count(*) FROM orders WHERE address_line1 IS NOT NULL", expect = 0 }]
timeout = "30m"

[[step]]
id = "drop-columns"
kind = "sql"
target = "db"
statement = "ALTER TABLE orders DROP COLUMN address_line1, DROP COLUMN address_line2"
postcheck = [{ kind = "sql", target = "db", query = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'address_line1'", expect = 0 }]

[[step]]
id = "verify"
kind = "verify"
checks = [
    { kind = "row_count", target = "db", table = "orders", tolerance = "0%" },
    { kind = "schema_version", target = "db", is = "0041" },
]
"#;

fn start(dir: &std::path::Path, plan: &str, extra: &[&str]) -> Headless {
    let path = dir.join("plan.toml");
    std::fs::write(&path, plan).unwrap();
    let mut c = ebb(dir);
    c.args([
        "run",
        "--drill",
        "--headless",
        "--json",
        "--yes",
        "--speed",
        "100",
    ])
    .args(extra)
    .arg(&path)
    // A drill reads no secret: the variable the plan names is not even set.
    .env_remove("ORDERS_DB_URL");
    Headless::start(c)
}

#[test]
fn a_postgres_plan_reverts_the_backfill_and_down_migrates_in_the_drill() {
    let dir = tempfile::tempdir().unwrap();
    // The migration finished an hour ago: every row of the backfill's columns is filled.
    let mut h = start(
        dir.path(),
        REVERT,
        &["--scenario", "crashloop-new-revision"],
    );
    let end = h.until_within(std::time::Duration::from_secs(90), |v| {
        v["View"]["status"]["Finished"].is_string() || v["View"]["status"] == "Paused"
    });
    assert_eq!(end["View"]["status"]["Finished"], "Completed", "{end}");
    for i in 0..3 {
        assert_eq!(end["View"]["steps"][i]["status"], "Applied", "{end}");
    }
}

#[test]
fn a_query_the_drill_world_cannot_answer_pauses_the_run_for_a_human() {
    let dir = tempfile::tempdir().unwrap();
    let plan = r#"[plan]
name = "odd-query"
description = "A check the world does not model"

[targets.db]
kind = "postgres"
url = "env:ORDERS_DB_URL"

[[step]]
id = "look"
kind = "verify"
checks = [{ kind = "sql", target = "db", query = "SELECT max(id) FROM orders", expect = 1 }]
"#;
    let mut h = start(dir.path(), plan, &[]);
    let paused = h.until(|v| v["View"]["status"] == "Paused");
    let text = paused.to_string();
    assert!(
        text.contains("the drill world cannot answer"),
        "the pause says why: {text}"
    );
}
