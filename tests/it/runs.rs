//! Headless runs through the real binary: control lines go through dispatch, JSON lines
//! come out, signals detach a run that `ebb resume` continues, a changed plan is refused.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use crate::support::headless::{Headless, ebb, flat, root, runs, status_is};

#[test]
fn step_mode_and_control_lines_through_dispatch() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ebb(dir.path());
    c.args([
        "run",
        "tests/fixtures/crash-plan.toml",
        "--headless",
        "--json",
        "--step",
        "--yes",
        "--speed",
        "100",
    ]);
    let mut h = Headless::start(c);
    // Step mode: one step, then paused by the engine.
    let v = h.until(|v| status_is(v, "Paused"));
    assert_eq!(v["View"]["steps"][0]["status"], "Applied");
    assert_eq!(v["View"]["steps"][1]["status"], "Pending");
    assert_eq!(v["View"]["step_mode"], true);
    h.send("step");
    let v = h.until(|v| status_is(v, "Paused") && v["View"]["steps"][1]["status"] == "Applied");
    assert_eq!(v["View"]["steps"][2]["status"], "Pending");
    // A verb that needs a reason is refused without one; with one it goes through.
    h.send("skip");
    h.send("skip not needed in this drill");
    let v = h.until(|v| {
        v["View"]["steps"][2]["status"]["Skipped"]["reason"] == "not needed in this drill"
    });
    assert_eq!(
        v["View"]["pause"]["by"].as_str().map(|s| !s.is_empty()),
        Some(true)
    );
    h.send("resume");
    h.until(|v| v["View"]["status"]["Finished"] == "Completed");
    h.stdin = None;
    let status = h.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let r = &runs(dir.path())[0];
    assert_eq!(r["state"], "completed");
}

#[test]
fn sigterm_detaches_and_resume_continues_without_repeating() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ebb(dir.path());
    c.args([
        "run",
        "tests/fixtures/crash-plan.toml",
        "--headless",
        "--json",
        "--yes",
        "--speed",
        "100",
    ]);
    let mut h = Headless::start(c);
    // Wait for the slow rollout step, then ask the process to stop.
    h.until(|v| v["View"]["steps"][4]["status"]["Running"].is_object());
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(h.child.id() as i32, libc::SIGTERM);
    }
    let status = h.child.wait().unwrap();
    assert_eq!(status.code(), Some(4), "paused and resumable");
    let id = runs(dir.path())[0]["id"].as_str().unwrap().to_string();
    let show = ebb(dir.path())
        .args(["runs", "show", &id, "--json"])
        .output()
        .unwrap();
    let j: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(j["state"], "paused");
    let kinds: Vec<&str> = j["journal"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"run.detached"), "{kinds:?}");
    assert!(
        kinds.iter().filter(|k| **k == "step.applied").count() == 5,
        "the in-flight step finished first: {kinds:?}"
    );

    let out = ebb(dir.path())
        .args(["resume", &id, "--headless", "--yes", "--speed", "100"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let show = ebb(dir.path())
        .args(["runs", "show", &id, "--json"])
        .output()
        .unwrap();
    let j: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(j["state"], "completed");
    let applied = j["journal"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "step.applied")
        .count();
    assert_eq!(applied, 7, "each step applied once");
}

#[test]
fn detach_is_audited_like_any_control_line_and_leaves_the_run_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ebb(dir.path());
    c.args([
        "run",
        "tests/fixtures/crash-plan.toml",
        "--headless",
        "--json",
        "--step",
        "--yes",
        "--speed",
        "100",
    ]);
    let mut h = Headless::start(c);
    h.until(|v| status_is(v, "Paused"));
    h.send("detach");
    let status = h.child.wait().unwrap();
    assert_eq!(status.code(), Some(4), "paused and resumable");
    let out = ebb(dir.path())
        .args(["audit", "export", "--format", "jsonl"])
        .output()
        .unwrap();
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let detach = records
        .iter()
        .find(|r| r["kind"] == "intent" && r["args"]["source"] == "line \"detach\"")
        .unwrap_or_else(|| panic!("no intent for the detach line: {records:#?}"));
    assert_eq!(detach["action"], "app.quit");
    let verify = ebb(dir.path()).args(["audit", "verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", flat(&verify.stdout));
}

#[test]
fn a_drill_of_a_plan_with_real_targets_runs_on_the_world_and_never_connects() {
    // A listener standing in for the real database: a drill must never connect to it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("postgres://ebb@{}/orders", listener.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let plan = "examples/postgres/backfill-region.toml";
    let out = ebb(dir.path())
        .env("EBB_DEMO_DB_URL", &url)
        .args([
            "run",
            plan,
            "--drill",
            "--scenario",
            "crashloop-new-revision",
        ])
        .args(["--headless", "--yes", "--speed", "100"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = flat(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", flat(&out.stderr));
    assert!(text.contains("run finished: completed"), "{text}");
    assert!(
        listener.accept().is_err(),
        "the drill connected to the real target"
    );
}

#[test]
fn a_plan_the_drill_world_cannot_bind_is_refused_located_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    // A scenario that binds the plan's postgres target to the world's series.
    let text = std::fs::read_to_string("examples/scenarios/crashloop-new-revision.toml").unwrap();
    let mut doc: toml::Table = toml::from_str(&text).unwrap();
    let bind = doc
        .entry("bind")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let targets = bind
        .as_table_mut()
        .unwrap()
        .entry("targets")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    targets
        .as_table_mut()
        .unwrap()
        .insert("db".into(), toml::Value::String("metrics".into()));
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, toml::to_string(&doc).unwrap()).unwrap();
    let plan = "examples/postgres/backfill-region.toml";
    for args in [
        vec!["drill", "--plan", plan, "--scenario"],
        vec!["run", plan, "--headless", "--yes", "--scenario"],
    ] {
        let out = ebb(dir.path())
            .args(&args)
            .arg(&scenario)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = flat(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(
                "backfill-region.toml:14:8: target `db` cannot be bound to the drill world"
            ),
            "{args:?}: {err}"
        );
    }
    assert!(runs(dir.path()).is_empty(), "no run was created");
}

#[test]
fn resume_of_a_corrupt_journal_names_the_row_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let out = ebb(dir.path())
        .args([
            "run",
            "tests/fixtures/crash-plan.toml",
            "--headless",
            "--step",
            "--yes",
            "--speed",
            "100",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", flat(&out.stderr));
    let id = runs(dir.path())[0]["id"].as_str().unwrap().to_string();
    // A row naming step 40 of a 7-step plan, as a foreign or corrupted journal would.
    let db = dir.path().join("ebb.db");
    let seq = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            use sqlx::Connection;
            let url = format!("sqlite://{}", db.display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let seq: i64 = sqlx::query_scalar("SELECT max(seq) + 1 FROM journal WHERE run_id = ?")
                .bind(&id)
                .fetch_one(&mut c)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO journal (run_id, seq, at, kind, data) VALUES (?, ?, 0, 'step.applied', '{\"kind\":\"applied\",\"step\":39}')",
            )
            .bind(&id)
            .bind(seq)
            .execute(&mut c)
            .await
            .unwrap();
            seq
        });
    let out = ebb(dir.path())
        .args(["resume", &id, "--headless", "--yes"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = flat(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "run {id}: journal row {seq} (step.applied) names step 40, but the plan has 7 steps"
        )),
        "{err}"
    );
}

#[test]
fn resume_refuses_a_plan_file_that_changed() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::copy(root().join("tests/fixtures/crash-plan.toml"), &plan).unwrap();
    let out = ebb(dir.path())
        .args([
            "run",
            plan.to_str().unwrap(),
            "--headless",
            "--step",
            "--yes",
            "--speed",
            "100",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = runs(dir.path())[0]["id"].as_str().unwrap().to_string();
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("batch = 1000", "batch = 2000");
    std::fs::write(&plan, text).unwrap();
    let out = ebb(dir.path())
        .args(["resume", &id, "--headless"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = flat(&out.stderr);
    assert!(err.contains("changed since run"), "{err}");
}

#[test]
fn a_second_console_cannot_drive_a_leased_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ebb(dir.path());
    c.args([
        "run",
        "tests/fixtures/crash-plan.toml",
        "--headless",
        "--json",
        "--step",
        "--speed",
        "100",
    ]);
    let mut h = Headless::start(c);
    h.until(|v| status_is(v, "Paused"));
    let id = runs(dir.path())[0]["id"].as_str().unwrap().to_string();
    let out = ebb(dir.path())
        .args(["resume", &id, "--headless"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = flat(&out.stderr);
    assert!(err.contains("one console drives a run at a time"), "{err}");
    drop(h);
}

#[test]
fn plan_check_of_every_example_plan_and_a_bad_one() {
    for p in [
        "examples/plans/backfill-slot-fill.toml",
        "examples/postgres/backfill-region.toml",
        "tests/fixtures/crash-plan.toml",
    ] {
        let out = ebb(Path::new("/tmp"))
            .args(["plan", "check", p])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
