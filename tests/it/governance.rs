//! Governance through the real binary, as real unix users (created with useradd when the
//! tests run as root, as in CI): roles from a policy in the store, a second person for a
//! rollback, each user signing with their own admitted key. Skipped when not root.

use crate::team::within;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::e2e::Console;
use crate::support::pg::PgCluster;

const DEADLINE: Duration = Duration::from_secs(30);
const GROUP: &str = "ebbt-oncall";
const RESPONDER: &str = "ebbt-resp";
const APPROVER: &str = "ebbt-appr1";
const APPROVER2: &str = "ebbt-appr2";
const VIEWER: &str = "ebbt-view";

fn root_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// The test users and group, created once (an existing one is fine).
fn users() {
    let _ = Command::new("groupadd").arg(GROUP).output();
    for u in [RESPONDER, APPROVER, APPROVER2, VIEWER] {
        let _ = Command::new("useradd")
            .args(["-M", "-s", "/usr/sbin/nologin", u])
            .output();
    }
    let out = Command::new("usermod")
        .args(["-aG", GROUP, RESPONDER])
        .output()
        .expect("usermod");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn uid_gid(user: &str) -> (u32, u32) {
    let out = Command::new("id").args(["-u", user]).output().unwrap();
    let uid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let out = Command::new("id").args(["-g", user]).output().unwrap();
    let gid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    (uid, gid)
}

struct Gov {
    dir: tempfile::TempDir,
    store: String,
}

impl Gov {
    fn new(pg: &PgCluster, db: &str) -> Gov {
        crate::support::pg::rt().block_on(pg.create_database(db));
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Gov {
            dir,
            store: pg.primary_url(db),
        }
    }

    /// A home of `user`'s own (config with its key, state with its logs).
    fn home(&self, user: &str) -> PathBuf {
        let h = self.dir.path().join(user);
        for d in ["", "config", "state"] {
            std::fs::create_dir_all(h.join(d)).unwrap();
        }
        if user != "root" {
            let (uid, gid) = uid_gid(user);
            for d in ["", "config", "state"] {
                std::os::unix::fs::chown(h.join(d), Some(uid), Some(gid)).unwrap();
            }
        }
        h
    }

    fn env(&self, user: &str) -> Vec<(String, String)> {
        let h = self.home(user);
        vec![
            ("EBB_STORE".into(), self.store.clone()),
            ("HOME".into(), h.display().to_string()),
            (
                "XDG_CONFIG_HOME".into(),
                h.join("config").display().to_string(),
            ),
            (
                "XDG_STATE_HOME".into(),
                h.join("state").display().to_string(),
            ),
        ]
    }

    /// `ebb ARGS` as `user` (root: this process's user), to completion.
    fn ebb(&self, user: &str, args: &[&str]) -> Output {
        let bin = env!("CARGO_BIN_EXE_ebb");
        let mut c = if user == "root" {
            Command::new(bin)
        } else {
            let mut c = Command::new("runuser");
            c.args(["-p", "-u", user, "--", bin]);
            c
        };
        c.args(args).current_dir(root_dir());
        for (k, v) in self.env(user) {
            c.env(k, v);
        }
        c.output().expect("run ebb")
    }

    /// `ebb attach RUN --headless --json` as `user`, ready for `Headless::start`.
    fn headless(&self, user: &str, run: &str) -> Command {
        let mut c = Command::new("runuser");
        c.args(["-p", "-u", user, "--", env!("CARGO_BIN_EXE_ebb")]);
        c.args(["attach", run, "--headless", "--json"])
            .current_dir("/");
        for (k, v) in self.env(user) {
            c.env(k, v);
        }
        c
    }

    fn console(&self, user: &str, args: &[&str]) -> Console {
        let bin = env!("CARGO_BIN_EXE_ebb");
        let mut all: Vec<&str> = vec!["-p", "-u", user, "--", bin];
        all.extend_from_slice(args);
        let env = self.env(user);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Console::spawn_program("runuser", &all, &env)
    }

    /// Admits `user`'s key to the keyring (root is the admin, and wrote genesis).
    fn admit(&self, user: &str) {
        let out = self.ebb(user, &["audit", "keys", "show-mine"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let hex = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let out = self.ebb("root", &["audit", "keys", "add", &hex, "--owner", user]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn policy(&self, text: &str) {
        let f = self.dir.path().join("policy.toml");
        std::fs::write(&f, text).unwrap();
        let out = self.ebb("root", &["policy", "apply", &f.display().to_string()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn runs(&self) -> Vec<Value> {
        let out = self.ebb("root", &["runs", "list", "--json"]);
        serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }

    fn audit(&self) -> Vec<Value> {
        let out = self.ebb("root", &["audit", "export"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Gov {
    fn drop(&mut self) {
        crate::team::kill_live_runners(&self.runs());
    }
}

fn policy_text(approvals: u32, timeout: &str) -> String {
    format!(
        "[roles]\nviewer = [\"{VIEWER}\"]\nresponder = [\"@{GROUP}\"]\napprover = [\"{APPROVER}\", \"{APPROVER2}\", \"{RESPONDER}\"]\nadmin = [\"root\"]\n\n\
         [approval]\nneeds_second_person = [\"run.rollback\", \"run.abort\"]\napprovals = {approvals}\ntimeout = \"{timeout}\"\n\n\
         [break_glass]\nallowed = [\"@{GROUP}\"]\nafter = \"4s\"\nreview_within = \"24h\"\n"
    )
}

/// The run of team-plan.toml driven by the responder up to its second manual step (the
/// first step with an undo is applied), with a rollback asked for.
fn responder_asks_rollback(g: &Gov) -> (Console, String) {
    let plan = root_dir().join("tests/fixtures/team-plan.toml");
    let mut a = g.console(RESPONDER, &["run", &plan.display().to_string()]);
    within(&a, "the responder's console", |s| {
        s.contains("tell-the-team")
    });
    a.send(b"r");
    within(&a, "the first manual step", |s| {
        s.contains("waiting for confirmation: Say")
    });
    a.send(b"c");
    within(&a, "the second manual step", |s| {
        s.contains("waiting for confirmation: Check")
    });
    a.send(b"R");
    a.send(b"disk filling\r");
    within(&a, "the plan's name asked", |s| {
        s.contains("type the plan's name")
    });
    a.send(b"team-test\r");
    within(&a, "the rollback waiting for approval", |s| {
        s.contains("asks to roll back: disk filling")
    });
    let run = g.runs()[0]["id"].as_str().unwrap().to_string();
    (a, run)
}

fn setup(pg: &PgCluster, db: &str, approvals: u32, timeout: &str) -> Gov {
    users();
    let g = Gov::new(pg, db);
    g.policy(&policy_text(approvals, timeout));
    for u in [RESPONDER, APPROVER, APPROVER2, VIEWER] {
        g.admit(u);
    }
    g
}

#[test]
fn a_rollback_waits_for_a_second_person_and_a_viewer_cannot_pause() {
    if !is_root() || !PgCluster::available() {
        eprintln!("skipped: needs root (useradd) and PostgreSQL");
        return;
    }
    let pg = PgCluster::start();
    let g = setup(&pg, "gov_one", 1, "10m");
    let (mut a, run) = responder_asks_rollback(&g);
    // The requester cannot approve their own request.
    a.send(b"a");
    a.send(b"mine\r");
    within(&a, "the self-approval refused", |s| {
        s.contains("approving your own request is refused")
    });

    // A viewer's pause is refused by the runner, with the reason.
    let mut v = g.console(VIEWER, &["attach", &run]);
    within(&v, "the viewer's console", |s| {
        s.contains("asks to roll back")
    });
    v.send(b"p");
    within(&v, "the viewer's pause refused", |s| {
        s.contains("needs the responder role")
    });

    // Another approver approves: the rollback runs.
    let mut b = g.console(APPROVER, &["attach", &run]);
    within(&b, "the approver sees the request", |s| {
        s.contains("asks to roll back: disk filling")
    });
    b.send(b"a");
    b.send(b"checked with the db lead\r");
    within(&a, "the rollback done", |s| s.contains("run: rolled"));
    let audit = g.audit();
    let applied = audit
        .iter()
        .find(|r| {
            r["action"] == "run.rollback"
                && r["outcome"]
                    .as_str()
                    .is_some_and(|o| o.contains("after approval by ebbt-appr1"))
        })
        .expect("the rollback's outcome names its approver");
    assert_eq!(applied["args"]["approved_by"][0], APPROVER);
    assert!(
        audit
            .iter()
            .any(|r| r["action"] == "approval.approve" && r["operator"]["user"] == APPROVER)
    );
    let verify = g.ebb("root", &["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    for c in [&mut a, &mut b, &mut v] {
        c.send(b"q");
        thread::sleep(Duration::from_millis(200));
        c.send(b"d");
    }
}

#[test]
fn two_approvals_a_denial_and_an_expiry() {
    if !is_root() || !PgCluster::available() {
        eprintln!("skipped: needs root (useradd) and PostgreSQL");
        return;
    }
    let pg = PgCluster::start();
    // Two approvals needed: one is not enough.
    let g = setup(&pg, "gov_two", 2, "10m");
    let (a, run) = responder_asks_rollback(&g);
    // The first approval comes from a headless console: `approve ID REASON`.
    let b = g.headless(APPROVER, &run);
    let mut b = crate::support::headless::Headless::start(b);
    let approval = b.until(|v| v.get("Approval").is_some());
    let id = approval["Approval"]["request"]
        .as_i64()
        .expect("the request's id");
    b.send(&format!("approve {id} ok by me"));
    thread::sleep(Duration::from_secs(2));
    let counted = |g: &Gov| {
        g.audit().iter().any(|r| {
            r["action"] == "approval.approve"
                && r["outcome"]
                    .as_str()
                    .is_some_and(|o| o.contains("approval 1 of 2"))
        })
    };
    let deadline = Instant::now() + DEADLINE;
    while !counted(&g) {
        assert!(
            Instant::now() < deadline,
            "the headless approval was not counted"
        );
        thread::sleep(Duration::from_millis(200));
    }
    within(&a, "still waiting after one approval", |s| {
        s.contains("asks to roll back")
    });
    assert!(!a.describe().contains("run: rolled"));
    // The second approver denies: the request is dropped.
    let mut c = g.console(APPROVER2, &["attach", &run]);
    within(&c, "the request on C", |s| s.contains("asks to roll back"));
    c.send(b"d");
    c.send(b"not while the backup runs\r");
    within(&a, "the denial shown to the requester", |s| {
        s.contains("denied by ebbt-appr2")
    });
    drop((a, b, c));

    // A short timeout: an unanswered request expires, on record.
    let g2 = setup(&pg, "gov_three", 1, "2s");
    let (a, _run) = responder_asks_rollback(&g2);
    within(&a, "the expiry shown", |s| s.contains("expired"));
    assert!(
        g2.audit()
            .iter()
            .any(|r| r["outcome"].as_str().is_some_and(|o| o.contains("expired")))
    );
}

/// Break glass: refused before `after`, then the request runs without approval, every
/// console says BREAK GLASS, and the use is listed unreviewed until an approver reviews it.
#[test]
fn break_glass_after_its_wait_and_its_review() {
    if !is_root() || !PgCluster::available() {
        eprintln!("skipped: needs root (useradd) and PostgreSQL");
        return;
    }
    let pg = PgCluster::start();
    let g = setup(&pg, "gov_glass", 1, "10m");
    let (mut a, run) = responder_asks_rollback(&g);
    let b = g.console(APPROVER, &["attach", &run]);
    within(&b, "the request on B", |s| s.contains("asks to roll back"));
    // Too early: refused, with the wait.
    a.send(b"B");
    a.send(b"nobody answers\r");
    within(&a, "the plan's name asked", |s| {
        s.contains("type the plan's name")
    });
    a.send(b"team-test\r");
    within(&a, "break glass refused before its wait", |s| {
        s.contains("only after the request has waited")
    });
    thread::sleep(Duration::from_secs(4));
    a.send(b"B");
    a.send(b"nobody answers at 3am\r");
    within(&a, "the plan's name asked again", |s| {
        s.contains("type the plan's name")
    });
    a.send(b"team-test\r");
    within(&a, "the rollback done", |s| s.contains("run: rolled"));
    within(&b, "BREAK GLASS on another console", |s| {
        s.contains("BREAK GLASS by ebbt-resp")
    });
    let show = g.ebb("root", &["audit", "show", "--break-glass"]);
    let text = String::from_utf8_lossy(&show.stdout).to_string();
    assert!(
        text.contains("UNREVIEWED") && text.contains("nobody answers at 3am"),
        "{text}"
    );
    let seq = text.split_whitespace().next().unwrap().to_string();
    let runs = g.runs();
    assert_eq!(runs[0]["break_glass_unreviewed"], 1, "{runs:?}");
    // The requester may not review their own use; an approver does.
    let own = g.ebb(RESPONDER, &["audit", "review", &seq, "fine"]);
    assert!(!own.status.success());
    let out = g.ebb(
        APPROVER,
        &["audit", "review", &seq, "the replica was down; justified"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&g.ebb("root", &["audit", "show", "--break-glass"]).stdout)
        .to_string();
    assert!(text.contains("reviewed by ebbt-appr1"), "{text}");
    assert_eq!(g.runs()[0]["break_glass_unreviewed"], 0);
}
