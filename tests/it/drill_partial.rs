//! Drill-world steps: one whose postcheck fails after its control was applied is undone
//! by the rollback its `on_failure` starts, in reverse order with the steps before it.

use crate::support::headless::{Headless, ebb};

const PLAN: &str = r#"[plan]
name = "drill-postcheck"
description = "A flag flip whose postcheck cannot hold"

[targets.db]
kind = "sim"
object = "orders-db"

[targets.app]
kind = "sim"
object = "orders-app"

[[step]]
id = "pause-backfill"
kind = "sim.pause_backfill"
target = "db"
undo = { kind = "sim.resume_backfill" }

[[step]]
id = "flag-off"
kind = "sim.set_flag"
target = "app"
flag = "split_address_reads"
enabled = false
undo = { kind = "sim.set_flag", flag = "split_address_reads", enabled = true }
postcheck = [{ kind = "volume_usage", target = "db", volume = "pgdata-orders-db-0", max = "1%" }]
on_failure = "rollback"
"#;

#[test]
fn a_drill_step_whose_postcheck_fails_after_it_applied_is_undone_first() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let mut c = ebb(dir.path());
    c.args(["run", "--headless", "--json", "--yes", "--speed", "100"])
        .arg(&plan);
    let mut h = Headless::start(c);
    let failed = h.until(|v| {
        v["Note"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("flag-off failed"))
    });
    assert!(
        failed["Note"]["text"]
            .as_str()
            .unwrap()
            .contains("after it applied"),
        "{failed}"
    );
    let first_undo = h.until(|v| {
        v["Note"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("undo of"))
    });
    assert!(
        first_undo["Note"]["text"]
            .as_str()
            .unwrap()
            .starts_with("undo of flag-off"),
        "the step whose postcheck failed is undone first: {first_undo}"
    );
    let end = h.until(|v| v["View"]["status"]["Finished"].is_string());
    assert_eq!(end["View"]["status"]["Finished"], "RolledBack", "{end}");
    assert_eq!(end["View"]["steps"][0]["status"], "Compensated", "{end}");
    assert_eq!(end["View"]["steps"][1]["status"], "Compensated", "{end}");
}
