//! `ebb attach RUN --headless` and `ebb watch RUN --headless`: headless consoles on a run a
//! runner drives (started from a console in a pseudo-terminal), on SQLite, the real binary.

use crate::team::within;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::e2e::Console;

const PLAN: &str = "tests/fixtures/team-plan.toml";
const DEADLINE: Duration = Duration::from_secs(30);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A store and a signing key shared by every console of a test.
struct Shared {
    dir: tempfile::TempDir,
    store: String,
}

impl Shared {
    fn new() -> Shared {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("team.db").display().to_string();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        Shared { dir, store }
    }

    fn path(&self, p: &str) -> String {
        self.dir.path().join(p).display().to_string()
    }

    fn ebb(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ebb"));
        c.args(args)
            .current_dir(root())
            .env("HOME", self.dir.path())
            .env("EBB_STORE", &self.store)
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env_remove("NO_COLOR");
        c
    }

    fn console(&self, args: &[&str]) -> Console {
        let (config, state) = (self.path("config"), self.path("state"));
        Console::spawn_with(
            args,
            &[
                ("EBB_STORE", self.store.as_str()),
                ("XDG_CONFIG_HOME", config.as_str()),
                ("XDG_STATE_HOME", state.as_str()),
            ],
            |_| {},
        )
    }

    fn runs(&self) -> Vec<Value> {
        let out = self.ebb(&["runs", "list", "--json"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn audit(&self) -> Vec<Value> {
        let out = self.ebb(&["audit", "export"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// A run started by a console in a pseudo-terminal, its first manual step waiting.
    fn started_run(&self) -> (Console, String) {
        let plan = root().join(PLAN).display().to_string();
        let mut a = self.console(&["run", &plan, "--operator", "alice"]);
        within(&a, "A's first frame", |s| {
            s.contains("DRILL") && s.contains("tell-the-team")
        });
        let run = eventually("a run in the store", || {
            self.runs()
                .first()
                .and_then(|r| r["id"].as_str().map(str::to_string))
        });
        a.send(b"r");
        within(&a, "the manual step waiting on A", |s| {
            s.contains("waiting for confirmation")
        });
        (a, run)
    }
}

impl Drop for Shared {
    /// No runner outlives its test.
    fn drop(&mut self) {
        let Ok(out) = self.ebb(&["runs", "list", "--json"]).output() else {
            return;
        };
        let runs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
        crate::team::kill_live_runners(&runs);
    }
}

fn eventually<T>(what: &str, f: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// A headless console as a child: stdout lines read on a thread, stderr in a file.
struct Piped {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: mpsc::Receiver<String>,
    err: String,
    seen: Vec<String>,
}

impl Piped {
    fn start(shared: &Shared, args: &[&str]) -> Piped {
        let err = shared.path(&format!("{}.err", args[0]));
        let mut cmd = shared.ebb(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&err).unwrap());
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        Piped {
            child,
            stdin,
            lines,
            err,
            seen: Vec::new(),
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Reads stdout lines until one satisfies `f`; panics with what was seen.
    fn until(&mut self, what: &str, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if f(&l) => return l,
                Ok(l) => self.seen.push(l),
                Err(_) => break,
            }
        }
        panic!(
            "never saw {what}; stdout:\n{}\nstderr:\n{}",
            self.seen.join("\n"),
            self.stderr()
        );
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for it to exit; asserts exit 0.
    fn exited_ok(&mut self) {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "it did not exit; stderr:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "exit status {status}; stderr:\n{}",
            self.stderr()
        );
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(l: &str) -> Value {
    serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line: {l} ({e})"))
}

/// A drives a run from a pseudo-terminal; B attaches headless with JSON lines, sees the
/// run's status, pauses it (A shows "paused by" B) and detaches: exit 0, both on record.
#[test]
fn attach_headless_pauses_the_run_and_detaches() {
    let shared = Shared::new();
    let (a, run) = shared.started_run();
    let mut b = Piped::start(
        &shared,
        &["attach", &run, "--headless", "--json", "--operator", "bob"],
    );
    b.until("the run's status", |l| {
        json(l)["View"]["status"].is_string()
    });
    b.send("pause");
    b.until("the run paused", |l| json(l)["View"]["status"] == "Paused");
    within(&a, "A showing the pause by B", |s| {
        s.contains("paused by") && s.contains("\"bob\"")
    });
    // A decision on a request that does not wait: recorded with its id, refused by the runner.
    b.send("approve 99999 looks fine");
    b.until("the runner's refusal", |l| {
        json(l)["Refused"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("does not wait for approval"))
    });
    b.send("detach");
    b.exited_ok();

    let audit = shared.audit();
    let attach = audit
        .iter()
        .find(|r| r["action"] == "console.attach" && r["args"]["headless"] == true)
        .expect("B's console.attach is on record");
    let console = attach["args"]["console"].clone();
    assert!(
        audit
            .iter()
            .any(|r| r["action"] == "console.detach" && r["args"]["console"] == console),
        "B's console.detach is on record"
    );
    let pause = audit
        .iter()
        .find(|r| r["action"] == "run.pause" && r["kind"] == "intent")
        .expect("the pause's intent");
    assert_eq!(pause["session"], console, "{pause}");
    let approve = audit
        .iter()
        .find(|r| r["action"] == "approval.approve" && r["kind"] == "intent")
        .expect("the approval's intent");
    assert_eq!(approve["args"]["request"], 99999, "{approve}");
    assert_eq!(approve["args"]["reason"], "looks fine", "{approve}");
}

/// C watches headless: its `pause` is refused (said on stderr), the refusal audited, the
/// run unchanged; its stdin closing detaches it with exit 0.
#[test]
fn watch_headless_refuses_run_control() {
    let shared = Shared::new();
    let (_a, run) = shared.started_run();
    let mut c = Piped::start(
        &shared,
        &["watch", &run, "--headless", "--operator", "carol"],
    );
    c.until("a status line", |l| l.starts_with("state "));
    c.send("pause");
    eventually("the watcher's refusal on stderr", || {
        Some(()).filter(|_| c.stderr().contains("only watches"))
    });
    let audit = shared.audit();
    assert!(
        audit.iter().any(|r| r["action"] == "run.pause"
            && r["outcome"]
                .as_str()
                .is_some_and(|o| o.contains("refused: this console watches"))),
        "the watcher's refusal is on record"
    );
    let state = shared
        .runs()
        .into_iter()
        .find(|r| r["id"] == run.as_str())
        .map(|r| r["state"].clone());
    assert_ne!(
        state,
        Some(Value::from("paused")),
        "a watcher's line changed nothing"
    );
    c.stdin = None;
    c.exited_ok();
    assert!(
        shared
            .audit()
            .iter()
            .any(|r| r["action"] == "console.detach" && r["args"]["via"] == "stdin closed"),
        "the watcher's detach is on record"
    );
}

/// `--json` needs `--headless`; a run that does not exist is said so.
#[test]
fn attach_headless_on_an_unknown_run_fails() {
    let shared = Shared::new();
    let out = shared
        .ebb(&["attach", "r-nope", "--headless"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no run r-nope"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = shared
        .ebb(&["attach", "r-nope", "--json"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "--json alone is refused");
}
