//! The crash campaign on a real server: `ebb run` is SIGKILLed at random points of a plan
//! on the test PostgreSQL primary and standby (`sql`, `sql_batches` under a lag throttle,
//! gates and checks), then resumed until it ends. Counts double applications (through
//! counters the plan's statements update), unfinished runs and audit logs that fail to
//! verify. The suite runs 30 kills; `scripts/crash-campaign N` runs N (1,000 for the README).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::headless::ebb;
use crate::support::pg::{PgCluster, app_scalar as scalar, rt};

const ROWS: i64 = 20_000;

const PLAN: &str = r#"[plan]
name = "campaign"
description = "Crash campaign: every statement counts its applications"

[targets.db]
kind = "postgres"
url = "env:EBB_TEST_DB_URL"

[[gate]]
name = "standby caught up"
check = { kind = "replication_lag", target = "db", max = "5s" }

[[step]]
id = "open"
kind = "sql"
target = "db"
statement = "INSERT INTO applied (step) VALUES ('open')"
preflight = [{ kind = "sql", target = "db", query = "SELECT count(*) FROM applied WHERE step = 'open'", expect = 0 }]

[[step]]
id = "bump"
kind = "sql_batches"
target = "db"
table = "t"
key = "id"
batch = 1000
statement = "UPDATE t SET v = v + 1 WHERE id >= $1 AND id < $2"
throttle = { max_replication_lag = "2s", max_rows_per_second = 40000 }
postcheck = [{ kind = "sql", target = "db", query = "SELECT count(*) FROM t WHERE v <> 1", expect = 0 }]

[[step]]
id = "verify"
kind = "verify"
checks = [{ kind = "row_count", target = "db", table = "t", tolerance = "0%" }]

[[step]]
id = "close"
kind = "sql"
target = "db"
statement = "INSERT INTO applied (step) VALUES ('close')"
"#;

/// A tiny deterministic generator, so a failure names a reproducible iteration.
fn rand(seed: u64, max: u64) -> u64 {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x % max.max(1)
}

fn reset(pg: &PgCluster) {
    rt().block_on(async {
        pg.execute(
            "app",
            "TRUNCATE applied; UPDATE t SET v = 0;
             DO $$ BEGIN IF to_regclass('ebb.applied_steps') IS NOT NULL THEN
                 DELETE FROM ebb.applied_steps; END IF; END $$;",
        )
        .await;
    });
}

/// Iterations from `EBB_CAMPAIGN_N` (30 by default).
fn iterations() -> u64 {
    std::env::var("EBB_CAMPAIGN_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30)
}

fn cmd(home: &Path, url: &str) -> Command {
    let mut c = ebb(home);
    c.env("EBB_TEST_DB_URL", url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Starts `c`, kills it with SIGKILL after `after`, unless it ended first.
fn run_killed(mut c: Command, after: Duration) -> bool {
    let mut child = c.spawn().expect("spawn ebb");
    let start = Instant::now();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if start.elapsed() >= after {
            let _ = child.kill();
            let _ = child.wait();
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn run_id(home: &Path) -> Option<String> {
    let out = ebb(home).args(["runs", "list", "--json"]).output().ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v.as_array()?.first()?["id"].as_str().map(str::to_string)
}

fn run_state(home: &Path, id: &str) -> String {
    let out = ebb(home)
        .args(["runs", "show", id, "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["state"].as_str().unwrap_or("?").to_string()
}

#[derive(Default, Debug)]
struct Tally {
    kills: u64,
    double: u64,
    unfinished: u64,
    bad_audit: u64,
    failures: Vec<String>,
}

#[test]
fn crash_campaign_on_a_real_primary_and_standby() {
    let pg = PgCluster::start_with_standby();
    rt().block_on(async {
        pg.create_database("app").await;
        pg.execute(
            "app",
            &format!(
                "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL DEFAULT 0);
                 INSERT INTO t (id) SELECT generate_series(0, {ROWS} - 1);
                 CREATE TABLE applied (step text NOT NULL, at timestamptz DEFAULT now());"
            ),
        )
        .await;
    });
    let url = pg.primary_url("app");
    let n = iterations();
    // One run to the end first, timed: kills then land anywhere in a run as long as this
    // machine (and whatever else it is running) takes for one.
    let whole = {
        reset(&pg);
        let home = tempfile::tempdir().unwrap();
        let plan = home.path().join("campaign.toml");
        std::fs::write(&plan, PLAN).unwrap();
        let start = Instant::now();
        let mut c = cmd(home.path(), &url);
        let status = c
            .args(["run", "--headless", "--yes"])
            .arg(&plan)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "the campaign plan runs to the end: {status:?}"
        );
        start.elapsed().as_millis() as u64
    };
    let mut tally = Tally::default();
    for i in 0..n {
        reset(&pg);
        let home = tempfile::tempdir().unwrap();
        let plan = home.path().join("campaign.toml");
        std::fs::write(&plan, PLAN).unwrap();
        let mut first = cmd(home.path(), &url);
        first.args(["run", "--headless", "--yes"]).arg(&plan);
        // Kill somewhere in the run (its start included), or let one in ten finish.
        if run_killed(first, Duration::from_millis(rand(i, whole * 11 / 10))) {
            tally.kills += 1;
        }
        let id = match run_id(home.path()) {
            Some(id) => id,
            None => {
                // Killed before the run was created: nothing may have happened.
                if scalar(&pg, "SELECT count(*) FROM applied") != 0 {
                    tally.failures.push(format!("#{i}: effects without a run"));
                    tally.double += 1;
                }
                continue;
            }
        };
        // Resume until it ends; every other resume of the first few is killed too.
        let mut state = run_state(home.path(), &id);
        for attempt in 0..6u64 {
            if state == "completed" {
                break;
            }
            let mut resume = cmd(home.path(), &url);
            resume.args(["resume", &id, "--headless", "--yes"]);
            if attempt < 2 && rand(i * 7 + attempt, 2) == 0 {
                if run_killed(resume, Duration::from_millis(rand(i * 13 + attempt, whole))) {
                    tally.kills += 1;
                }
            } else {
                let _ = resume.status();
            }
            state = run_state(home.path(), &id);
        }
        let opened = scalar(&pg, "SELECT count(*) FROM applied WHERE step = 'open'");
        let closed = scalar(&pg, "SELECT count(*) FROM applied WHERE step = 'close'");
        let bumped_twice = scalar(&pg, "SELECT count(*) FROM t WHERE v > 1");
        if opened > 1 || closed > 1 || bumped_twice > 0 {
            tally.double += 1;
            tally.failures.push(format!(
                "#{i} {id}: open {opened}, close {closed}, rows bumped twice {bumped_twice}"
            ));
        }
        if state != "completed" || opened != 1 || closed != 1 {
            tally.unfinished += 1;
            let show = ebb(home.path())
                .args(["runs", "show", &id])
                .output()
                .unwrap();
            let journal = String::from_utf8_lossy(&show.stdout);
            let tail: Vec<&str> = journal.lines().rev().take(6).collect();
            tally.failures.push(format!(
                "#{i} {id}: ended {state}; last journal rows: {tail:#?}"
            ));
        }
        let verify = ebb(home.path()).args(["audit", "verify"]).output().unwrap();
        if !verify.status.success() {
            tally.bad_audit += 1;
            tally.failures.push(format!(
                "#{i} {id}: audit verify: {}",
                String::from_utf8_lossy(&verify.stdout).trim()
            ));
        }
    }
    println!(
        "crash campaign: {n} runs ({whole} ms each uninterrupted), {} kills: {} double applications, {} unfinished runs, {} failed verifications",
        tally.kills, tally.double, tally.unfinished, tally.bad_audit
    );
    assert!(
        tally.kills >= n / 2,
        "the campaign killed too rarely: {tally:?}"
    );
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
}
