//! Headless runs through the real binary: control lines go through dispatch, JSON lines
//! come out, signals detach a run that `ebb resume` continues, a changed plan is refused.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ebb(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ebb"));
    c.current_dir(root())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("EBB_STORE", home.join("ebb.db"))
        .env_remove("NO_COLOR");
    c
}

struct Headless {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: std::io::Lines<BufReader<ChildStdout>>,
}

impl Headless {
    fn start(mut c: Command) -> Headless {
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = c.spawn().expect("spawn");
        let stdin = child.stdin.take();
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Headless {
            child,
            stdin,
            lines,
        }
    }

    /// Reads JSON lines until one satisfies `f`; panics with what was seen after 20 s.
    fn until(&mut self, f: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        let mut seen = Vec::new();
        while start.elapsed() < Duration::from_secs(20) {
            match self.lines.next() {
                Some(Ok(l)) => {
                    let v: Value = serde_json::from_str(&l)
                        .unwrap_or_else(|e| panic!("not a JSON line: {l} ({e})"));
                    if f(&v) {
                        return v;
                    }
                    seen.push(l);
                }
                _ => break,
            }
        }
        panic!("never saw the line; saw:\n{}", seen.join("\n"));
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write");
        stdin.flush().expect("flush");
    }
}

impl Drop for Headless {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A miette report as one line of words (it wraps and draws borders).
fn flat(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .split_whitespace()
        .filter(|w| *w != "│" && *w != "×")
        .collect::<Vec<_>>()
        .join(" ")
}

fn status_is(v: &Value, s: &str) -> bool {
    v["View"]["status"] == s
}

fn runs(home: &Path) -> Vec<Value> {
    let out = ebb(home)
        .args(["runs", "list", "--json"])
        .output()
        .expect("runs");
    serde_json::from_slice(&out.stdout).expect("json")
}

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
