//! Policies: every file in tests/invalid/policies fails where its `# expect:` lines say, the
//! example parses, `decide` by role; `ebb policy` and `ebb plan approve` on SQLite and PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ebb::diag::SourceFile;
use ebb::policy::{Decision, Identity, Policy, PolicyRole, Principal};
use ebb::store::Store;

use crate::support::pg::PgCluster;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `# expect: LINE:COL: message` lines at the top, each optionally followed by `# help: …`.
fn expectations(path: &Path, text: &str) -> Vec<(usize, usize, String, Option<String>)> {
    let mut out: Vec<(usize, usize, String, Option<String>)> = Vec::new();
    for line in text.lines().take_while(|l| l.starts_with("# ")) {
        if let Some(rest) = line.strip_prefix("# expect: ") {
            let mut parts = rest.splitn(3, ':');
            let l = parts.next().and_then(|s| s.trim().parse().ok());
            let c = parts.next().and_then(|s| s.trim().parse().ok());
            let m = parts.next().map(|s| s.trim().to_string());
            let (Some(l), Some(c), Some(m)) = (l, c, m) else {
                panic!("{}: cannot read `{line}`", path.display());
            };
            out.push((l, c, m, None));
        } else if let Some(help) = line.strip_prefix("# help: ") {
            let last = out.last_mut().expect("# help: follows an # expect: line");
            last.3 = Some(help.trim().to_string());
        }
    }
    assert!(
        !out.is_empty(),
        "{}: first line must be `# expect: LINE:COL: message`",
        path.display()
    );
    out
}

#[test]
fn every_invalid_policy_fails_where_it_says() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(manifest().join("tests/invalid/policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 8, "{paths:?}");
    let mut failures = Vec::new();
    for path in &paths {
        let file = SourceFile::read(path).unwrap();
        let name = path.display().to_string();
        let wants = expectations(path, &file.text);
        let errors = match Policy::parse(&file) {
            Ok(_) => {
                failures.push(format!("{name}: validated, but expected errors"));
                continue;
            }
            Err(e) => e,
        };
        assert_eq!(errors.name, name);
        let got: Vec<String> = errors
            .errors
            .iter()
            .map(|e| format!("{} (help: {:?})", e.line_form(), e.help))
            .collect();
        if errors.errors.len() != wants.len() {
            failures.push(format!(
                "{name}: expected {} errors, got {got:#?}",
                wants.len()
            ));
        }
        for (line, col, message, help) in &wants {
            let found = errors.errors.iter().any(|e| {
                e.name == name
                    && (e.line, e.col) == (*line, *col)
                    && e.message.contains(message.as_str())
                    && help
                        .as_ref()
                        .is_none_or(|h| e.help.as_ref().is_some_and(|eh| eh.contains(h.as_str())))
            });
            if !found {
                failures.push(format!(
                    "{name}: expected {line}:{col}: {message} (help {help:?}); got {got:#?}"
                ));
            }
        }
        let positions: Vec<(usize, usize)> =
            errors.errors.iter().map(|e| (e.line, e.col)).collect();
        let mut sorted = positions.clone();
        sorted.sort();
        assert_eq!(positions, sorted, "{name}: errors in file order");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn example() -> Policy {
    Policy::load(&manifest().join("examples/policy.toml")).unwrap_or_else(|e| {
        panic!("{:?}", miette::Report::new(e));
    })
}

fn who(user: &str, groups: &[&str]) -> Identity {
    Identity {
        user: user.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

#[test]
fn the_example_policy_parses() {
    let p = example();
    assert_eq!(p.roles.len(), 5);
    assert_eq!(
        p.roles[&PolicyRole::Admin],
        [Principal::Group("sre-leads".into())]
    );
    assert_eq!(p.approval.approvals, 1);
    assert!(p.plans.require_approved);
    assert!(p.break_glass.is_some());
    let text = std::fs::read(manifest().join("examples/policy.toml")).unwrap();
    use sha2::Digest;
    assert_eq!(
        p.digest(),
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&text)))
    );
}

#[test]
fn decide_by_role_for_users_and_groups() {
    let p = example();
    let viewer = who("vera", &["staff", "oncall-observers"]);
    let responder = who("rita", &["oncall"]);
    let approver_by_name = who("dba-oncall", &[]);
    let approver_by_group = who("dan", &["db-leads"]);
    let admin = who("ada", &["sre-leads"]);
    let nobody = who("nick", &["staff"]);

    // Viewing: any role.
    for w in [&viewer, &responder, &approver_by_name, &admin] {
        assert_eq!(p.decide(w, "pane.zoom"), Decision::Allow, "{w:?}");
    }
    let Decision::Deny { reason } = p.decide(&nobody, "pane.zoom") else {
        panic!("no role, no view");
    };
    assert!(reason.contains("nick has no role"), "{reason}");

    // Run verbs: responders; second-person verbs need approval.
    assert_eq!(
        p.decide(&viewer, "run.pause"),
        Decision::Deny {
            reason: "run.pause needs the responder role (granted to @oncall); vera has viewer"
                .into()
        }
    );
    assert_eq!(p.decide(&responder, "run.pause"), Decision::Allow);
    assert_eq!(p.decide(&responder, "note.save"), Decision::Allow);
    for verb in [
        "run.rollback",
        "run.abort",
        "run.skip",
        "run.resolve.happened",
        "run.resolve.not_happened",
        "ask.delete_pod",
    ] {
        assert_eq!(
            p.decide(&responder, verb),
            Decision::NeedsApproval { approvals: 1 },
            "{verb}"
        );
    }
    assert!(matches!(
        p.decide(&admin, "run.rollback"),
        Decision::Deny { .. }
    ));

    // Approving: approvers, by name or by group.
    assert_eq!(
        p.decide(&approver_by_name, "approval.approve"),
        Decision::Allow
    );
    assert_eq!(
        p.decide(&approver_by_group, "approval.deny"),
        Decision::Allow
    );
    let Decision::Deny { reason } = p.decide(&responder, "approval.approve") else {
        panic!("a responder does not approve");
    };
    assert_eq!(
        reason,
        "approval.approve needs the approver role (granted to @db-leads, dba-oncall); rita has responder"
    );

    // Admin verbs and drills.
    assert_eq!(p.decide(&admin, "policy.apply"), Decision::Allow);
    assert_eq!(p.decide(&admin, "audit.keys.add"), Decision::Allow);
    assert!(matches!(
        p.decide(&approver_by_group, "policy.apply"),
        Decision::Deny { .. }
    ));
    assert!(matches!(
        p.decide(&responder, "drill.faster"),
        Decision::Deny { .. }
    ));
    assert_eq!(
        p.decide(&who("tom", &["sre-training"]), "drill.faster"),
        Decision::Allow
    );

    // Roles and break glass.
    assert_eq!(
        p.roles_of(&who("x", &["oncall", "db-leads"]))
            .into_iter()
            .collect::<Vec<_>>(),
        [PolicyRole::Responder, PolicyRole::Approver]
    );
    assert!(p.may_break_glass(&responder));
    assert!(!p.may_break_glass(&approver_by_group));
}

// ---- the CLI on a store -------------------------------------------------------------

struct Env {
    dir: tempfile::TempDir,
    store: String,
}

impl Env {
    fn sqlite() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("ebb.db").display().to_string();
        Env { dir, store }
    }

    fn postgres(url: String) -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            store: url,
        }
    }

    fn ebb(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ebb"))
            .args(args)
            .env("EBB_STORE", &self.store)
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env("HOME", self.dir.path())
            .env_remove("SUDO_USER")
            .output()
            .unwrap()
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    );
}

/// This process's login name, as `ebb` reads it.
fn me() -> String {
    ebb::audit::Operator::from_env(None).user
}

/// apply, show, refused re-apply, bad file, approve: the same on either store.
async fn cli_suite(env: &Env) {
    let out = env.ebb(&["policy", "show"]);
    ok(&out);
    assert!(
        text(&out.stdout).contains(": every user may drive every run"),
        "{}",
        text(&out.stdout)
    );

    // No policy: anyone applies one. This one makes us admin and approver.
    let me = me();
    let first = env.write(
        "first.toml",
        &format!(
            "[roles]\nadmin = [\"{me}\"]\napprover = [\"{me}\"]\nresponder = [\"@oncall\"]\n\n[plans]\nrequire_approved = true\n"
        ),
    );
    let out = env.ebb(&["policy", "apply", &first]);
    ok(&out);
    assert!(
        text(&out.stdout).starts_with("policy version 1 in force"),
        "{}",
        text(&out.stdout)
    );
    let out = env.ebb(&["policy", "show", "--json"]);
    ok(&out);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let policy = &shown["policy"];
    assert_eq!(policy["version"], 1);
    assert_eq!(policy["source_name"], first.as_str());
    assert_eq!(policy["applied_by"].as_str().unwrap(), me);
    let parsed = Policy::load(Path::new(&first)).unwrap();
    assert_eq!(policy["digest"], parsed.digest());
    assert_eq!(
        policy["text"].as_str().unwrap(),
        std::fs::read_to_string(&first).unwrap()
    );
    let out = env.ebb(&["policy", "show"]);
    ok(&out);
    assert!(text(&out.stdout).contains("require_approved = true"));

    // A bad file: located errors, exit 1, the store unchanged.
    let bad = env.write(
        "bad.toml",
        "[roles]\nboss = [\"x\"]\n[approval]\napprovals = 0\n",
    );
    let out = env.ebb(&["policy", "apply", &bad]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("bad.toml:2:1: unknown role \"boss\""), "{err}");
    assert!(
        err.contains("bad.toml:4:13: approvals must be at least 1"),
        "{err}"
    );
    let out = env.ebb(&["policy", "show", "--json"]);
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["policy"]["version"], 1);

    // Approve a plan: a signature over its digest with our audit key, verifiable.
    let plan_path = manifest().join("examples/plans/orders-backfill-postgres.toml");
    let plan = ebb::plan::Plan::load(&plan_path).unwrap();
    let out = env.ebb(&["plan", "approve", plan_path.to_str().unwrap()]);
    ok(&out);
    let store = Store::open(&env.store).await.unwrap();
    let rows = store.plan_approvals(Some(plan.digest())).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let a = &rows[0];
    assert_eq!(a.plan_name, plan.name);
    assert_eq!(a.approver, me);
    let key = ebb::audit::keys::parse_public_key(&a.public_key).unwrap();
    let mut sig = [0u8; 64];
    hex::decode_to_slice(&a.signature, &mut sig).unwrap();
    key.verify_strict(
        format!("ebb plan approval\n{}", plan.digest()).as_bytes(),
        &ed25519_dalek::Signature::from_bytes(&sig),
    )
    .expect("the approval's signature verifies");
    // The key is the audit key this user signs checkpoints with.
    let audit_key = ebb::audit::KeySource::File(env.dir.path().join("config/ebb/audit.key"))
        .load_or_create()
        .unwrap();
    assert_eq!(audit_key.verifying_key(), key);
    assert!(
        store
            .plan_approvals(Some("sha256:other"))
            .await
            .unwrap()
            .is_empty()
    );

    // require_approved: the approved digest passes, another is refused, naming approvers.
    let in_force = ebb::cli::policy::in_force(&store).await.unwrap().unwrap().1;
    ebb::cli::policy::require_approved(&store, &in_force, plan.digest())
        .await
        .unwrap();
    let refused = ebb::cli::policy::require_approved(&store, &in_force, "sha256:0000")
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        format!(
            "plan digest sha256:0000 has no approval; an approver ({me}) approves it with `ebb plan approve PLAN`"
        )
    );
    let out = env.ebb(&["plan", "approvals", "--json"]);
    ok(&out);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["verifies"], true);

    // Both commands are in the audit log.
    let rows = store.audit_rows(Default::default()).await.unwrap();
    let actions: Vec<String> = rows
        .iter()
        .filter_map(|r| serde_json::from_str::<ebb::audit::AuditRecord>(&r.record).ok())
        .filter_map(|r| r.action)
        .collect();
    assert_eq!(actions, ["policy.apply", "plan.approve"]);
    let rec = rows
        .iter()
        .filter_map(|r| serde_json::from_str::<ebb::audit::AuditRecord>(&r.record).ok())
        .find(|r| r.action.as_deref() == Some("policy.apply"))
        .unwrap();
    assert_eq!(rec.args["version"], 1);
    assert_eq!(rec.args["digest"], parsed.digest());

    // An admin hands the policy over; then we are no admin and a re-apply is refused.
    let second = env.write("second.toml", "[roles]\nadmin = [\"someone-else\"]\n");
    ok(&env.ebb(&["policy", "apply", &second]));
    let out = env.ebb(&["policy", "apply", &first]);
    assert_eq!(
        out.status.code(),
        Some(ebb::cli::policy::EXIT_REFUSED.into())
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("only an admin of the policy in force (version 2, admin: someone-else)"),
        "{err}"
    );
    let row = store.policy().await.unwrap().unwrap();
    assert_eq!(row.version, 2);

    // Without the approver role, approving is refused.
    let out = env.ebb(&["plan", "approve", plan_path.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(ebb::cli::policy::EXIT_REFUSED.into())
    );
    assert!(
        text(&out.stderr).contains("needs the approver role (granted to no one)"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(store.plan_approvals(None).await.unwrap().len(), 1);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_cli_on_sqlite() {
    let env = Env::sqlite();
    cli_suite(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_without_a_policy_is_refused() {
    let env = Env::sqlite();
    let plan_path = manifest().join("examples/plans/orders-backfill-postgres.toml");
    let out = env.ebb(&["plan", "approve", plan_path.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(ebb::cli::policy::EXIT_REFUSED.into())
    );
    assert!(
        text(&out.stderr).contains("no policy: nothing to approve against"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_cli_on_postgres() {
    let pg = PgCluster::start();
    pg.create_database("ebb").await;
    let env = Env::postgres(pg.primary_url("ebb"));
    cli_suite(&env).await;
}

#[tokio::test]
async fn the_store_keeps_policy_versions_and_approvals() {
    let env = Env::sqlite();
    let store = Store::open(&env.store).await.unwrap();
    assert_eq!(store.policy().await.unwrap(), None);
    let before = store.statements();
    for (i, digest) in ["sha256:a", "sha256:b"].iter().enumerate() {
        let v = store
            .put_policy(&ebb::store::NewPolicy {
                digest: digest.to_string(),
                source_name: "p.toml".into(),
                text: "[roles]\n".into(),
                applied_by: "alice".into(),
                at: 1_000 + i as i64,
            })
            .await
            .unwrap();
        assert_eq!(v, i as i64 + 1);
    }
    assert_eq!(store.statements() - before, 2, "one statement a put");
    let row = store.policy().await.unwrap().unwrap();
    assert_eq!((row.version, row.digest.as_str()), (2, "sha256:b"));
    for d in ["sha256:x", "sha256:y", "sha256:x"] {
        store
            .approve_plan(&ebb::store::NewPlanApproval {
                digest: d.into(),
                plan_name: "p".into(),
                approver: "dba".into(),
                public_key: "00".into(),
                signature: "00".into(),
                at: 5,
            })
            .await
            .unwrap();
    }
    let x: Vec<i64> = store
        .plan_approvals(Some("sha256:x"))
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(x, [1, 3]);
    assert_eq!(store.plan_approvals(None).await.unwrap().len(), 3);
    store.close().await;
}

/// `ebb run` of a real plan under `require_approved`: refused until an approver approves
/// its digest, naming the digest; a drill of it never needs approval.
#[test]
fn an_unapproved_plan_is_refused_and_a_drill_is_not() {
    let env = Env::sqlite();
    let me = me();
    let policy = env.write(
        "p.toml",
        &format!("[roles]\nadmin = [\"{me}\"]\napprover = [\"{me}\"]\nresponder = [\"{me}\"]\n\n[plans]\nrequire_approved = true\n"),
    );
    ok(&env.ebb(&["policy", "apply", &policy]));
    let plan = env.write(
        "real.toml",
        "[plan]\nname = \"real\"\n\n[[step]]\nid = \"a\"\nkind = \"manual\"\ninstruction = \"go\"\n",
    );
    let out = env.ebb(&["run", &plan, "--headless", "--yes"]);
    assert_eq!(out.status.code(), Some(7), "a policy refusal exits 7");
    let err = text(&out.stderr);
    assert!(
        err.contains("has no approval") && err.contains("sha256:"),
        "{err}"
    );
    assert!(
        env.ebb(&["runs", "list", "--json"])
            .stdout
            .starts_with(b"[]"),
        "no run was created"
    );
    // A drill of the same plan runs without approval.
    let out = env.ebb(&[
        "run",
        &plan,
        "--drill",
        "--headless",
        "--yes",
        "--speed",
        "100",
    ]);
    ok(&out);
    // Approved, the real run starts.
    ok(&env.ebb(&["plan", "approve", &plan]));
    let out = env.ebb(&["run", &plan, "--headless", "--yes"]);
    ok(&out);
}

/// A real run hosted in its own process (headless) under a policy: a non-responder is
/// refused before any run exists; a responder's verb that needs a second person is refused
/// there (nobody can approve it in that process), on record as not delivered.
#[test]
fn a_headless_run_under_a_policy_checks_the_role_and_refuses_second_person_verbs() {
    let env = Env::sqlite();
    let me = me();
    let plan = env.write(
        "real.toml",
        "[plan]\nname = \"real\"\n\n[[step]]\nid = \"a\"\nkind = \"manual\"\ninstruction = \"go\"\n\n[[step]]\nid = \"b\"\nkind = \"manual\"\ninstruction = \"go on\"\n",
    );
    let viewer = env.write(
        "v.toml",
        &format!("[roles]\nadmin = [\"{me}\"]\nviewer = [\"{me}\"]\n"),
    );
    ok(&env.ebb(&["policy", "apply", &viewer]));
    let out = env.ebb(&["run", &plan, "--headless"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("needs the responder role"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        env.ebb(&["runs", "list", "--json"])
            .stdout
            .starts_with(b"[]")
    );

    let responder = env.write(
        "r.toml",
        &format!("[roles]\nadmin = [\"{me}\"]\nresponder = [\"{me}\"]\n\n[approval]\nneeds_second_person = [\"run.abort\"]\n"),
    );
    ok(&env.ebb(&["policy", "apply", &responder]));
    let mut c = Command::new(env!("CARGO_BIN_EXE_ebb"));
    c.args(["run", &plan, "--headless", "--json"])
        .env("EBB_STORE", &env.store)
        .env("XDG_CONFIG_HOME", env.dir.path().join("config"))
        .env("XDG_STATE_HOME", env.dir.path().join("state"))
        .env("HOME", env.dir.path())
        .env_remove("SUDO_USER");
    let mut h = crate::support::headless::Headless::start(c);
    h.send("abort no second person here");
    // A confirmation is taken only while its step waits for it.
    h.until(|v| v.to_string().contains("step a started"));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    h.send("confirm");
    h.until(|v| v.to_string().contains("step b started"));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    h.send("confirm");
    h.until(|v| v.to_string().contains("Exited"));
    h.close_stdin();
    assert!(h.wait_exit(std::time::Duration::from_secs(20)));
    let audit = env.ebb(&["audit", "export"]);
    let log = text(&audit.stdout);
    assert!(
        log.contains("needs a second person (policy)"),
        "the refused abort is on record"
    );
    let runs: serde_json::Value =
        serde_json::from_slice(&env.ebb(&["runs", "list", "--json"]).stdout).unwrap();
    assert_eq!(
        runs[0]["state"], "completed",
        "the abort did not take effect: {runs}"
    );
}
