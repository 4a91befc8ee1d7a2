//! The audit keyring through the real binary: two bastions with two keys write one chain,
//! a key not admitted (or revoked) gets AUDIT DOWN with what to do, and verify names a
//! revoked key's later checkpoint and refuses an admission no admitted key sealed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ebb::audit::canon::decode_hash;
use ebb::audit::chain::{Head, seal};
use ebb::audit::checkpoint::sign;
use ebb::audit::keys::public_hex;
use ebb::audit::{AuditLog, AuditRecord, KeySource, NewRecord, Operator, Problem, RecordKind};
use ebb::store::{AuditQuery, Store};
use ed25519_dalek::SigningKey;
use serde_json::Value;

use crate::support::headless::{Headless, ebb};

const PLAN: &str = "tests/fixtures/crash-plan.toml";

/// Two bastions (two homes, so two keys) on bastion A's SQLite store.
struct Team {
    a: tempfile::TempDir,
    b: tempfile::TempDir,
}

impl Team {
    fn new() -> Team {
        Team {
            a: tempfile::tempdir().unwrap(),
            b: tempfile::tempdir().unwrap(),
        }
    }

    fn store_path(&self) -> PathBuf {
        self.a.path().join("ebb.db")
    }

    fn on(&self, home: &Path) -> Command {
        let mut c = ebb(home);
        c.env("EBB_STORE", self.store_path());
        c
    }

    fn a(&self) -> Command {
        self.on(self.a.path())
    }

    fn b(&self) -> Command {
        self.on(self.b.path())
    }

    fn key_of(home: &Path) -> PathBuf {
        home.join("config/ebb/audit.key")
    }

    async fn store(&self) -> Store {
        Store::open(&self.store_path().to_string_lossy())
            .await
            .unwrap()
    }
}

fn run(mut c: Command, args: &[&str]) -> Output {
    c.args(args).stdin(Stdio::null()).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `ebb audit keys show-mine`: the bastion's public key (created on first use).
fn show_mine(c: Command) -> String {
    let out = run(c, &["audit", "keys", "show-mine"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let hex = text(&out.stdout).trim().to_string();
    assert_eq!(hex.len(), 64, "{hex}");
    assert!(
        text(&out.stderr).contains(&format!("ebb audit keys add {hex} --owner NAME")),
        "{}",
        text(&out.stderr)
    );
    hex
}

/// A headless drill run to its end.
fn headless_run(c: Command) {
    let mut c = c;
    c.args([
        "run",
        PLAN,
        "--headless",
        "--json",
        "--yes",
        "--speed",
        "100",
    ]);
    let mut h = Headless::start(c);
    h.until_within(Duration::from_secs(60), |v| {
        v["View"]["status"]["Finished"] == "Completed"
    });
    h.close_stdin();
    let status = h.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// A headless run refused at open: exit 6, AUDIT DOWN on stdout.
fn refused_run(c: Command) -> String {
    let out = run(c, &["run", PLAN, "--headless", "--yes", "--speed", "100"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("AUDIT DOWN: "), "{stdout}");
    stdout
}

async fn records(s: &Store) -> Vec<AuditRecord> {
    s.audit_rows(AuditQuery::default())
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(&r.record).unwrap())
        .collect()
}

#[test]
fn two_keys_write_one_chain() {
    let team = Team::new();
    headless_run(team.a());
    let a_hex = show_mine(team.a());
    let b_hex = show_mine(team.b());
    assert_ne!(a_hex, b_hex);

    let out = run(
        team.a(),
        &["audit", "keys", "add", &b_hex, "--owner", "bob@bastion-2"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!("admitted key {b_hex} (bob@bastion-2) at seq ")),
        "{}",
        text(&out.stdout)
    );
    // Twice is a no-op.
    let out = run(
        team.a(),
        &["audit", "keys", "add", &b_hex, "--owner", "bob@bastion-2"],
    );
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("already admitted"));

    headless_run(team.b());

    // Each bastion verifies, with its own witness; checkpoints by both keys.
    for c in [team.a(), team.b()] {
        let out = run(c, &["audit", "verify"]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.starts_with("OK: "), "{stdout}");
        assert!(stdout.contains("checkpoints by 2 keys:"), "{stdout}");
        assert!(
            stdout.contains(&format!("  {b_hex} (bob@bastion-2): ")),
            "{stdout}"
        );
        assert!(stdout.contains(&format!("  {a_hex} (")), "{stdout}");
    }
    // --pubkey pins the trust root: A's key, from which B's admission follows.
    let pubfile = team.a.path().join("a.pub");
    std::fs::write(&pubfile, format!("{a_hex}\n")).unwrap();
    let out = run(
        team.b(),
        &["audit", "verify", "--pubkey", &pubfile.to_string_lossy()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // B's key as the trust root is not the log's: genesis names A's.
    let bfile = team.a.path().join("b.pub");
    std::fs::write(&bfile, &b_hex).unwrap();
    let out = run(
        team.a(),
        &["audit", "verify", "--pubkey", &bfile.to_string_lossy()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).starts_with("FAILED at seq 1: foreign signature"),
        "{}",
        text(&out.stdout)
    );

    // The keyring, listed; the add is on record as intent, admission and outcome.
    let out = run(team.b(), &["audit", "keys", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["public_key"], a_hex.as_str());
    assert_eq!(list[0]["admitted_seq"], 1);
    assert_eq!(list[1]["public_key"], b_hex.as_str());
    assert_eq!(list[1]["owner"], "bob@bastion-2");
    assert!(list[1]["sealed_seq"].as_u64() > list[1]["admitted_seq"].as_u64());
    assert!(list[1]["checkpoints"].as_u64() >= Some(1), "{list:?}");
    let out = run(team.a(), &["audit", "keys", "list"]);
    let table = text(&out.stdout);
    assert!(
        table.contains(&b_hex) && table.contains("admitted"),
        "{table}"
    );
    let out = run(team.a(), &["audit", "show"]);
    let table = text(&out.stdout);
    assert!(table.contains("audit.keys.add"), "{table}");
    assert!(
        table.contains(&format!("admitted key {}", &b_hex[..16])),
        "{table}"
    );
}

#[test]
fn a_key_not_admitted_gets_audit_down_with_what_to_do() {
    let team = Team::new();
    headless_run(team.a());
    let b_hex = show_mine(team.b());
    let stdout = refused_run(team.b());
    assert!(stdout.contains("is not admitted to this log"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "ask an admin to run `ebb audit keys add {b_hex} --owner NAME`"
        )),
        "{stdout}"
    );
    // B cannot admit itself: its own session cannot open.
    let out = run(team.b(), &["audit", "keys", "add", &b_hex, "--owner", "me"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stdout));
    // Nothing of B's reached the log, and it verifies.
    let out = run(team.a(), &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(!text(&out.stdout).contains("checkpoints by"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_refused_and_its_later_checkpoints_fail() {
    let team = Team::new();
    headless_run(team.a());
    let a_hex = show_mine(team.a());
    let b_hex = show_mine(team.b());
    let out = run(
        team.a(),
        &["audit", "keys", "add", &b_hex, "--owner", "bob"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // B's console is open when its key is revoked.
    let s = team.store().await;
    let b_log = AuditLog::open(
        &s,
        KeySource::File(Team::key_of(team.b.path())),
        "s-bob".into(),
        Operator::from_env(None),
    )
    .await
    .unwrap();
    b_log.append(NewRecord::note("still here")).await.unwrap();

    // Revoking the genesis key or one's own needs --yes.
    let out = run(
        team.a(),
        &["audit", "keys", "revoke", &a_hex, "--reason", "oops"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("genesis key"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    let out = run(
        team.b(),
        &["audit", "keys", "revoke", &b_hex, "--reason", "oops"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("your own"),
        "{}",
        text(&out.stderr)
    );

    let out = run(
        team.a(),
        &["audit", "keys", "revoke", &b_hex, "--reason", "laptop lost"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let revoked_seq = records(&s)
        .await
        .iter()
        .find(|r| matches!(r.kind, RecordKind::KeyRevoked { .. }))
        .map(|r| r.seq)
        .unwrap();
    // The log verifies up to here, then B writes again.
    let out = run(team.a(), &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let stdout = refused_run(team.b());
    assert!(
        stdout.contains(&format!("revoked at seq {revoked_seq} (laptop lost)")),
        "{stdout}"
    );

    // The console open since before the revocation signs a checkpoint after it.
    b_log.checkpoint().await.unwrap();
    let cp_seq = s.audit_head().await.unwrap().unwrap().seq;
    let out = run(team.a(), &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout).trim(),
        format!(
            "FAILED at seq {cp_seq}: revoked key: signed by key {b_hex}, revoked at seq {revoked_seq} (laptop lost)"
        )
    );
    let recs = records(&s).await;
    let f = ebb::audit::verify(&recs, None).unwrap_err();
    assert_eq!((f.seq, f.problem), (cp_seq, Problem::RevokedKey));
}

/// Someone who can write the store but holds no admitted key admits their own key and
/// signs with it: the admission was never sealed by an admitted key, so it counts for nothing.
#[tokio::test]
async fn an_admission_no_admitted_key_sealed_counts_for_nothing() {
    let team = Team::new();
    let s = team.store().await;
    let a = AuditLog::open(
        &s,
        KeySource::File(Team::key_of(team.a.path())),
        "s-a".into(),
        Operator::from_env(None),
    )
    .await
    .unwrap();
    a.close().await.unwrap();
    let mut recs = records(&s).await;
    ebb::audit::verify(&recs, None).unwrap();

    let mallory = SigningKey::from_bytes(&[9u8; 32]);
    let last = recs.last().unwrap().clone();
    let mut head = Head {
        seq: last.seq,
        hash: decode_hash(&last.hash).unwrap(),
    };
    let mut admit = last.clone();
    admit.kind = RecordKind::KeyAdmitted {
        public_key: public_hex(&mallory.verifying_key()),
        owner: "mallory".into(),
    };
    head = seal(&mut admit, head);
    recs.push(admit);
    let mut cp = last.clone();
    cp.kind = sign(&mallory, head);
    seal(&mut cp, head);
    recs.push(cp);
    let f = ebb::audit::verify(&recs, None).unwrap_err();
    assert_eq!(
        (f.seq, f.problem),
        (last.seq + 2, Problem::ForeignSignature)
    );
    assert!(
        f.detail
            .contains("no checkpoint by an admitted key had sealed"),
        "{f}"
    );
}

/// Under a policy, changing the keyring is for its admins: anyone else is refused with exit
/// 7 (as every policy refusal), and the key is not admitted.
#[test]
fn a_non_admin_cannot_change_the_keyring() {
    let team = Team::new();
    headless_run(team.a());
    let b_hex = show_mine(team.b());
    let policy = team.a.path().join("policy.toml");
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    std::fs::write(
        &policy,
        format!("[roles]\nadmin = [\"someone-else\"]\nresponder = [\"{me}\"]\n"),
    )
    .unwrap();
    let out = run(team.a(), &["policy", "apply", policy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        team.a(),
        &["audit", "keys", "add", &b_hex, "--owner", "bob"],
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("refused"),
        "{}",
        text(&out.stderr)
    );
    let out = run(team.a(), &["audit", "keys", "list", "--json"]);
    assert!(!text(&out.stdout).contains(&b_hex), "{}", text(&out.stdout));
}
