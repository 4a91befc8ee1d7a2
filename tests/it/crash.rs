//! Crash tests: the real binary runs a plan against the drill world and is SIGKILLed at
//! random points; `ebb resume` then finishes. Every step's effect must have happened
//! exactly once, and a rollback (itself killed) must undo exactly what was done.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

const PLAN: &str = "tests/fixtures/crash-plan.toml";
/// Steps of the crash plan with a drill effect, and whether each has an undo.
const EFFECTS: &[(&str, bool)] = &[
    ("pause-backfill", true),
    ("flag-off", true),
    ("smaller-batches", true),
    ("snapshot", false),
    ("revert-app", true),
];
const ALL_STEPS: usize = 7;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ebb(home: &Path, store: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ebb"));
    c.current_dir(root())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("EBB_STORE", store)
        .env_remove("NO_COLOR");
    c
}

/// A tiny deterministic generator, so a failure names a reproducible iteration.
fn rand_ms(seed: u64, max: u64) -> u64 {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x % max
}

fn spawn(mut c: Command, input: Option<&str>) -> Child {
    c.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("spawn ebb");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(text) = input {
        let _ = stdin.write_all(text.as_bytes());
    }
    drop(stdin);
    child
}

fn kill_after(mut child: Child, ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
    // SAFETY: signalling our own child by pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
}

fn finish(mut c: Command, input: Option<&str>, what: &str) {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn ebb");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(text) = input {
        let _ = stdin.write_all(text.as_bytes());
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{what} did not finish: {:?}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn runs(home: &Path, store: &Path) -> Vec<Value> {
    let out = ebb(home, store)
        .args(["runs", "list", "--json"])
        .output()
        .expect("runs list");
    assert!(
        out.status.success(),
        "runs list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("runs json")
}

fn journal(home: &Path, store: &Path, id: &str) -> Value {
    let out = ebb(home, store)
        .args(["runs", "show", id, "--json"])
        .output()
        .expect("runs show");
    assert!(
        out.status.success(),
        "runs show: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("show json")
}

fn count(j: &Value, kind: &str, key: &str) -> usize {
    j["journal"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter(|r| r["kind"] == kind && r["key"] == key)
                .count()
        })
        .unwrap_or(0)
}

fn count_kind_step(j: &Value, kind: &str, step: &str) -> usize {
    j["journal"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter(|r| r["kind"] == kind && r["step"] == step)
                .count()
        })
        .unwrap_or(0)
}

/// One iteration: run (killed), resume to completion, check; resume with a rollback
/// (killed), resume to the end of the rollback, check.
fn iteration(i: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let store = home.join("ebb.db");
    let args = ["--headless", "--yes", "--speed", "100"];

    // 1. A run, killed at a random point.
    let mut c = ebb(home, &store);
    c.args(["run", PLAN]).args(args);
    kill_after(spawn(c, None), rand_ms(i * 2, 2500));
    let id = match runs(home, &store).first() {
        Some(r) => r["id"].as_str().expect("id").to_string(),
        None => {
            // Killed before the run was created: nothing was applied; run it whole.
            let mut c = ebb(home, &store);
            c.args(["run", PLAN]).args(args);
            finish(c, None, &format!("iteration {i}: run"));
            runs(home, &store)[0]["id"]
                .as_str()
                .expect("id")
                .to_string()
        }
    };

    // 2. Resume finishes the run.
    let mut c = ebb(home, &store);
    c.args(["resume", &id]).args(args);
    finish(c, None, &format!("iteration {i}: resume"));
    let j = journal(home, &store, &id);
    assert_eq!(j["state"], "completed", "iteration {i}: {j:#}");
    for (step, _) in EFFECTS {
        let key = format!("{id}/{step}");
        assert_eq!(
            count(&j, "sim.effect", &key),
            1,
            "iteration {i}: {step} applied {} times",
            count(&j, "sim.effect", &key)
        );
    }
    let applied: usize = [
        "pause-backfill",
        "flag-off",
        "smaller-batches",
        "snapshot",
        "revert-app",
        "ack",
        "verify",
    ]
    .iter()
    .map(|s| {
        let n = count_kind_step(&j, "step.applied", s) + resolved_happened(&j, s);
        assert_eq!(n, 1, "iteration {i}: {s} completed {n} times");
        n
    })
    .sum::<usize>();
    assert_eq!(applied, ALL_STEPS);

    // 3. A rollback, killed at a random point, then resumed to its end.
    let mut c = ebb(home, &store);
    c.args(["resume", &id]).args(args);
    kill_after(
        spawn(c, Some("rollback crash test\n")),
        rand_ms(i * 2 + 1, 2500),
    );
    let mut c = ebb(home, &store);
    c.args(["resume", &id]).args(args);
    finish(
        c,
        Some("rollback crash test\n"),
        &format!("iteration {i}: resume of the rollback"),
    );
    let j = journal(home, &store, &id);
    assert_eq!(j["state"], "rolled_back", "iteration {i}: {j:#}");
    for (step, has_undo) in EFFECTS {
        let fwd = format!("{id}/{step}");
        let undo = format!("{id}/{step}/undo");
        assert_eq!(
            count(&j, "sim.effect", &fwd),
            1,
            "iteration {i}: {step} re-applied during rollback"
        );
        assert_eq!(
            count(&j, "sim.effect", &undo),
            usize::from(*has_undo),
            "iteration {i}: undo of {step}"
        );
    }
}

fn resolved_happened(j: &Value, step: &str) -> usize {
    j["journal"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter(|r| {
                    r["kind"] == "step.resolved"
                        && r["step"] == step
                        && r["data"]["undo"] == false
                        && r["data"]["happened"] == true
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn killed_at_random_points_every_effect_happens_exactly_once() {
    // Two kills per iteration: 100 iterations are 200 kill points.
    let iterations: u64 = std::env::var("EBB_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let workers = 4;
    if let Some(only) = std::env::var("EBB_CRASH_ONLY")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        iteration(only);
        return;
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst) as u64;
                    if i >= iterations {
                        return;
                    }
                    iteration(i);
                }
            });
        }
    });
}
