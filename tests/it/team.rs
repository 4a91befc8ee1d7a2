//! Several consoles on one run that a runner process drives, through the store: consoles in
//! pseudo-terminals (the real binary), on SQLite and on PostgreSQL (two state directories
//! standing for two bastions). Waits are deadlines that only matter when something is broken.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::e2e::Console;
use crate::support::pg::PgCluster;

const PLAN: &str = "tests/fixtures/team-plan.toml";
const PLAN_CONTINUE: &str = "tests/fixtures/team-plan-continue.toml";
/// Longer than a console test's: a runner process starts, and every hop crosses the store.
const DEADLINE: Duration = Duration::from_secs(30);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A store shared by consoles, with one signing key (issue 14 gives each operator theirs).
pub(crate) struct Team {
    dir: tempfile::TempDir,
    store: String,
}

impl Team {
    pub(crate) fn sqlite() -> Team {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("team.db").display().to_string();
        Team { dir, store }
    }

    pub(crate) fn postgres(pg: &PgCluster, db: &str) -> Team {
        crate::support::pg::rt().block_on(pg.create_database(db));
        Team {
            dir: tempfile::tempdir().unwrap(),
            store: pg.primary_url(db),
        }
    }

    fn config(&self) -> PathBuf {
        let c = self.dir.path().join("config");
        std::fs::create_dir_all(&c).unwrap();
        c
    }

    /// The state directory of bastion `host` (its logs, its runner's logs).
    fn state(&self, host: &str) -> PathBuf {
        let s = self.dir.path().join(format!("state-{host}"));
        std::fs::create_dir_all(&s).unwrap();
        s
    }

    pub(crate) fn console(&self, args: &[&str], host: &str) -> Console {
        let config = self.config().display().to_string();
        let state = self.state(host).display().to_string();
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

    /// Writes `text` to `name` in the test's directory; its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    pub(crate) fn ebb(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ebb"))
            .args(args)
            .current_dir(root())
            .env("HOME", self.dir.path())
            .env("EBB_STORE", &self.store)
            .env("XDG_CONFIG_HOME", self.config())
            .env("XDG_STATE_HOME", self.state("cli"))
            .output()
            .expect("run ebb")
    }

    pub(crate) fn runs(&self) -> Vec<Value> {
        let out = self.ebb(&["runs", "list", "--json"]);
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

    pub(crate) fn run(&self, id: &str) -> Value {
        self.runs()
            .into_iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no run {id}"))
    }

    /// The newest run's id, once there is one.
    pub(crate) fn newest_run(&self) -> String {
        self.eventually("a run in the store", || {
            self.runs()
                .first()
                .and_then(|r| r["id"].as_str().map(str::to_string))
        })
    }

    pub(crate) fn eventually<T>(&self, what: &str, f: impl Fn() -> Option<T>) -> T {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(t) = f() {
                return t;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn runner_pid(&self, id: &str) -> Option<i32> {
        let r = self.run(id);
        r["runner"]["alive"]
            .as_bool()
            .filter(|a| *a)
            .and_then(|_| r["runner"]["pid"].as_i64())
            .map(|p| p as i32)
    }

    pub(crate) fn audit(&self) -> Vec<Value> {
        let out = self.ebb(&["audit", "export"]);
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
}

impl Drop for Team {
    /// No runner outlives its test.
    fn drop(&mut self) {
        kill_live_runners(&self.runs());
    }
}

/// SIGKILLs the live runner of each run (`ebb runs list --json` rows): no runner a test
/// started outlives it.
pub(crate) fn kill_live_runners(runs: &[Value]) {
    for r in runs {
        if let Some(pid) = r["runner"]["pid"]
            .as_i64()
            .filter(|_| r["runner"]["alive"] == true)
        {
            // SAFETY: kill(2) on a runner this test started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

pub(crate) fn plan(p: &str) -> String {
    root().join(p).display().to_string()
}

pub(crate) fn within(c: &Console, what: &str, cond: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let screen = c.describe();
        if cond(&screen) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{screen}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn record_with<'a>(
    records: &'a [Value],
    action: &str,
    outcome_has: &str,
) -> Option<&'a Value> {
    records.iter().find(|r| {
        r["action"] == action
            && r["outcome"]
                .as_str()
                .is_some_and(|o| o.contains(outcome_has))
    })
}

/// A starts a run, B attaches and pauses it, and A shows "paused by" B; C watches and its
/// keys are refused (audited); A's terminal goes (SIGHUP) and B brings the run to its end.
fn three_consoles(team: &Team, hosts: [&str; 3]) {
    let p = plan(PLAN);
    let mut a = team.console(&["run", &p, "--operator", "alice"], hosts[0]);
    within(&a, "A's first frame", |s| {
        s.contains("DRILL") && s.contains("tell-the-team")
    });
    let run = team.newest_run();
    a.send(b"r");
    within(&a, "the manual step waiting on A", |s| {
        s.contains("waiting for confirmation")
    });

    let mut b = team.console(&["attach", &run, "--operator", "bob"], hosts[1]);
    within(&b, "B following the run", |s| {
        s.contains("waiting for confirmation")
    });
    within(&a, "A listing B", |s| s.contains("2 attached"));
    b.send(b"p");
    within(&a, "A showing the pause by B", |s| {
        s.contains("paused by") && s.contains("\"bob\"")
    });

    let mut c = team.console(&["watch", &run, "--operator", "carol"], hosts[2]);
    within(&c, "C following the run", |s| {
        s.contains("paused by") && s.contains("WATCHING")
    });
    c.send(b"r");
    within(&c, "C's refusal", |s| s.contains("only watches"));
    let audit = team.audit();
    assert!(
        record_with(&audit, "run.resume", "refused: this console watches").is_some(),
        "the watcher's refusal is on record"
    );
    assert_eq!(
        team.run(&run)["state"],
        "paused",
        "a watcher's key changed nothing"
    );

    // A's terminal goes: the runner does not stop, and the loss is on record.
    a.signal(libc::SIGHUP);
    a.wait_exit();
    team.eventually("A recorded as lost", || {
        record_with(&team.audit(), "console.lost", "").map(|_| ())
    });
    assert!(team.runner_pid(&run).is_some(), "the runner outlives A");

    // B brings the run to its end: resume, confirm both manual steps.
    b.send(b"r");
    within(&b, "the first manual step waiting on B", |s| {
        s.contains("waiting for confirmation") && s.contains("running")
    });
    b.send(b"c");
    within(&b, "the second manual step", |s| {
        s.contains("check-the-app") && s.contains("waiting for confirmation: Check")
    });
    b.send(b"c");
    within(&b, "the run completed on B", |s| {
        s.contains("run: completed")
    });
    within(&c, "the run completed on C", |s| {
        s.contains("run: completed")
    });
    assert_eq!(team.run(&run)["state"], "completed");
    let audit = team.audit();
    for action in ["console.attach", "run.pause", "run.confirm"] {
        assert!(
            audit.iter().any(|r| r["action"] == action),
            "{action} is on record"
        );
    }
    // Every request the runner applied names the intent it came with.
    let applied: Vec<&Value> = audit
        .iter()
        .filter(|r| {
            r["outcome"]
                .as_str()
                .is_some_and(|o| o.starts_with("applied by the runner"))
        })
        .collect();
    assert!(
        applied.len() >= 4,
        "pause, resume and two confirms applied: {applied:?}"
    );
    for r in applied {
        let seq = r["args"]["intent_seq"].as_i64().expect("intent_seq");
        assert!(
            audit
                .iter()
                .any(|i| i["seq"].as_i64() == Some(seq) && i["action"] == r["action"]),
            "the intent {seq} is in the log: {}",
            audit
                .iter()
                .map(|a| format!("{} {} {}", a["seq"], a["action"], a["outcome"]))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    b.send(b"q");
    within(&b, "the leave layer", |s| s.contains("Leave the run"));
    b.send(b"d");
    b.wait_exit();
    c.send(b"q");
    c.wait_exit();
}

#[test]
fn three_consoles_on_sqlite() {
    let team = Team::sqlite();
    three_consoles(&team, ["one", "one", "one"]);
}

#[test]
fn three_consoles_on_postgres_from_two_bastions() {
    if !PgCluster::available() {
        eprintln!("skipped: no PostgreSQL binaries");
        return;
    }
    let pg = PgCluster::start();
    let team = Team::postgres(&pg, "team_three");
    three_consoles(&team, ["bastion-a", "bastion-b", "bastion-a"]);
}

/// The runner is SIGKILLed with two consoles attached: both show it gone; `ebb resume`
/// brings a new one up from a third terminal, and both consoles follow and drive it.
fn runner_killed(team: &Team) {
    let p = plan(PLAN);
    let mut a = team.console(&["run", &p, "--operator", "alice"], "one");
    within(&a, "A's first frame", |s| {
        s.contains("DRILL") && s.contains("tell-the-team")
    });
    let run = team.newest_run();
    a.send(b"r");
    within(&a, "the manual step", |s| {
        s.contains("waiting for confirmation")
    });
    let mut b = team.console(&["attach", &run, "--operator", "bob"], "two");
    within(&b, "B following", |s| {
        s.contains("waiting for confirmation")
    });
    let pid = team.runner_pid(&run).expect("a live runner");
    // SAFETY: kill(2) on the runner this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    within(&a, "A showing the runner gone", |s| {
        s.contains("RUNNER GONE")
    });
    within(&b, "B showing the runner gone", |s| {
        s.contains("RUNNER GONE")
    });

    let mut c = team.console(&["resume", &run, "--operator", "carol"], "one");
    // A resumed run waits for a person to go on.
    within(&c, "C on the resumed run", |s| {
        s.contains("paused by engine")
    });
    within(&a, "A following the new runner", |s| {
        !s.contains("RUNNER GONE")
    });
    within(&b, "B following the new runner", |s| {
        !s.contains("RUNNER GONE")
    });
    let new_pid = team.runner_pid(&run).expect("a new live runner");
    assert_ne!(new_pid, pid);
    // B drives the new runner to the end.
    b.send(b"r");
    within(&b, "the first manual step again", |s| {
        s.contains("waiting for confirmation: Say")
    });
    b.send(b"c");
    within(&b, "the second manual step", |s| {
        s.contains("waiting for confirmation: Check")
    });
    b.send(b"c");
    within(&a, "the run completed on A", |s| {
        s.contains("run: completed")
    });
    // Nothing ran twice: one applied record per step.
    let out = team.ebb(&["runs", "show", &run, "--json"]);
    let journal: Value = serde_json::from_slice(&out.stdout).unwrap();
    for step in ["tell-the-team", "pause-backfill", "check-the-app"] {
        let applied = journal["journal"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["step"] == step && j["kind"] == "step.applied")
            .count();
        assert_eq!(applied, 1, "{step} applied once");
    }
    for con in [&mut a, &mut b, &mut c] {
        con.send(b"q");
        within(con, "the leave layer", |s| s.contains("Leave the run"));
        con.send(b"d");
        con.wait_exit();
    }
}

#[test]
fn a_killed_runner_shows_gone_and_resume_brings_a_new_one_on_sqlite() {
    runner_killed(&Team::sqlite());
}

#[test]
fn a_killed_runner_shows_gone_and_resume_brings_a_new_one_on_postgres() {
    if !PgCluster::available() {
        eprintln!("skipped: no PostgreSQL binaries");
        return;
    }
    let pg = PgCluster::start();
    runner_killed(&Team::postgres(&pg, "team_killed"));
}

/// With every driving console gone, `on_detach` decides: the default pauses at the next
/// safe point; "continue" goes on, and a manual step waits for someone to attach.
#[test]
fn on_detach_pause_and_continue() {
    let team = Team::sqlite();
    // Default: pause. Detach while the manual step waits: the run pauses by itself.
    let mut a = team.console(&["run", &plan(PLAN), "--operator", "alice"], "one");
    within(&a, "A's first frame", |s| s.contains("tell-the-team"));
    let run = team.newest_run();
    a.send(b"r");
    within(&a, "the manual step", |s| {
        s.contains("waiting for confirmation")
    });
    a.send(b"q");
    within(&a, "the leave layer", |s| {
        s.contains("Leave the run") && s.contains("pauses at the next safe point")
    });
    a.send(b"d");
    a.wait_exit();
    let deadline = Instant::now() + DEADLINE;
    while team.run(&run)["state"] != "paused" {
        assert!(
            Instant::now() < deadline,
            "the run was not paused by on_detach: {}\n{:?}",
            team.run(&run),
            team.audit()
                .iter()
                .map(|r| format!("{} {} {}", r["seq"], r["action"], r["outcome"]))
                .collect::<Vec<_>>()
        );
        thread::sleep(Duration::from_millis(100));
    }
    assert!(record_with(&team.audit(), "run.on_detach", "pausing").is_some());

    // "continue": the run goes on without a console, up to the manual step that waits.
    let mut a = team.console(&["run", &plan(PLAN_CONTINUE), "--operator", "alice"], "one");
    within(&a, "A's first frame", |s| s.contains("tell-the-team"));
    let run = team.newest_run();
    a.send(b"r");
    within(&a, "the manual step", |s| {
        s.contains("waiting for confirmation")
    });
    a.send(b"c");
    within(&a, "the second manual step", |s| {
        s.contains("waiting for confirmation: Check")
    });
    a.signal(libc::SIGHUP);
    a.wait_exit();
    team.eventually("the loss noticed", || {
        record_with(&team.audit(), "run.on_detach", "goes on").map(|_| ())
    });
    assert_eq!(
        team.run(&run)["state"],
        "running",
        "the run went on, waiting for a person"
    );
    // Someone attaches and finishes it.
    let mut b = team.console(&["attach", &run, "--operator", "bob"], "one");
    within(&b, "B on the waiting step", |s| {
        s.contains("waiting for confirmation: Check")
    });
    b.send(b"c");
    within(&b, "completed", |s| s.contains("run: completed"));
    b.send(b"q");
    b.send(b"d");
    b.wait_exit();
}
