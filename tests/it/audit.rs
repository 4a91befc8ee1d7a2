//! The audit log on a real store: tampering of every kind is detected and named, consoles
//! sharing a store keep one chain, SIGKILLed writers leave an unsealed tail (not tampering),
//! no secret reaches the store's bytes or an export, and exports verify.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ebb::audit::canon::decode_hash;
use ebb::audit::chain::{Head, seal};
use ebb::audit::checkpoint::sign;
use ebb::audit::export::export_jsonl;
use ebb::audit::{
    AuditLog, AuditRecord, KeySource, NewRecord, Operator, Problem, RecordKind, VerifyFailure,
    VerifyReport, Witness, check_witness, verify, verify_rows,
};
use ebb::store::{AuditQuery, Store};
use ed25519_dalek::SigningKey;
use serde_json::json;
use sqlx::SqlitePool;

use crate::support::pg::PgCluster;

struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
    key: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ebb.db");
        let key = dir.path().join("config/ebb/audit.key");
        Env { dir, db, key }
    }

    fn spec(&self) -> String {
        self.db.to_string_lossy().into_owned()
    }

    fn witness(&self) -> PathBuf {
        Witness::path_for(&self.key)
    }

    async fn store(&self) -> Store {
        Store::open(&self.spec()).await.unwrap()
    }

    /// A second connection, as an attacker with write access to the file would have.
    async fn raw(&self) -> SqlitePool {
        SqlitePool::connect(&format!("sqlite:{}", self.db.display()))
            .await
            .unwrap()
    }
}

fn operator() -> Operator {
    Operator {
        user: "alice".into(),
        groups: vec!["alice".into(), "oncall".into()],
        sudo_user: None,
        host: "bastion-1".into(),
        tty: Some("/dev/pts/3".into()),
        ssh_client: Some("10.0.0.5:52311".into()),
        annotation: Some("IC".into()),
    }
}

async fn open_log(s: &Store, key: &Path, session: &str) -> AuditLog {
    AuditLog::open(
        s,
        KeySource::File(key.to_path_buf()),
        session.into(),
        operator(),
    )
    .await
    .unwrap()
}

fn intent(i: u32) -> NewRecord {
    NewRecord {
        key: Some("p".into()),
        run_id: Some("r-20261124-030501-7f3a".into()),
        step_id: Some(format!("step-{i}")),
        args: json!({"i": i}),
        ..NewRecord::intent("run.pause")
    }
}

/// Two closed sessions: 1 genesis, 2 start, 3..=7 records, 8 end, 9 checkpoint,
/// 10 start, 11..=13 records, 14 end, 15 checkpoint.
async fn populate(env: &Env) -> Store {
    let s = env.store().await;
    let a = open_log(&s, &env.key, "s-a").await;
    for i in 0..5 {
        a.append(intent(i)).await.unwrap();
    }
    a.close().await.unwrap();
    let b = open_log(&s, &env.key, "s-b").await;
    for i in 0..3 {
        b.append(NewRecord::outcome("run.pause", &format!("applied {i}")))
            .await
            .unwrap();
    }
    b.close().await.unwrap();
    s
}

async fn records(s: &Store) -> Vec<AuditRecord> {
    let rows = s.audit_rows(AuditQuery::default()).await.unwrap();
    rows.iter()
        .map(|r| serde_json::from_str(&r.record).unwrap())
        .collect()
}

/// Verifies the store as `ebb audit verify` does (with this host's witness when asked).
async fn check(s: &Store, env: &Env, witness: bool) -> Result<VerifyReport, VerifyFailure> {
    let rows = s.audit_rows(AuditQuery::default()).await.unwrap();
    let (recs, report) = verify_rows(&rows, None)?;
    if witness {
        let id = s.identity();
        check_witness(&recs, &Witness::load(&env.witness()).unwrap(), Some(&id))?;
    }
    Ok(report)
}

fn failed(r: Result<VerifyReport, VerifyFailure>) -> (u64, Problem, String) {
    match r {
        Ok(report) => panic!("tampering not detected: {report}"),
        Err(f) => {
            eprintln!("{f}");
            (f.seq, f.problem, f.to_string())
        }
    }
}

async fn set_record(raw: &SqlitePool, seq: u64, text: &str) {
    sqlx::query("UPDATE audit SET record = $1 WHERE seq = $2")
        .bind(text)
        .bind(seq as i64)
        .execute(raw)
        .await
        .unwrap();
}

async fn get_record(raw: &SqlitePool, seq: u64) -> String {
    sqlx::query_scalar("SELECT record FROM audit WHERE seq = $1")
        .bind(seq as i64)
        .fetch_one(raw)
        .await
        .unwrap()
}

async fn put_row(raw: &SqlitePool, r: &AuditRecord) {
    sqlx::query(
        "INSERT OR REPLACE INTO audit (seq, at_ns, session, kind, record, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.seq as i64)
    .bind(r.at_ns)
    .bind(&r.session)
    .bind(r.kind.name())
    .bind(serde_json::to_string(r).unwrap())
    .bind(&r.prev_hash)
    .bind(&r.hash)
    .execute(raw)
    .await
    .unwrap();
}

fn head_of(r: &AuditRecord) -> Head {
    Head {
        seq: r.seq,
        hash: decode_hash(&r.hash).unwrap(),
    }
}

fn other_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

// ---- an untouched log ---------------------------------------------------------------

#[tokio::test]
async fn a_closed_log_verifies_with_counts() {
    let env = Env::new();
    let s = populate(&env).await;
    let report = check(&s, &env, true).await.unwrap();
    assert_eq!(
        report.to_string(),
        "OK: 15 records, 2 sessions, 2 checkpoints, last checkpoint at seq 15"
    );
    assert_eq!(report.unsealed_tail, None);
    let recs = records(&s).await;
    assert!(matches!(recs[0].kind, RecordKind::Genesis { .. }));
    assert_eq!(recs[2].operator, operator());
    assert_eq!(recs[2].action.as_deref(), Some("run.pause"));
    assert_eq!(recs[2].key.as_deref(), Some("p"));
    assert!(matches!(
        recs[8].kind,
        RecordKind::Checkpoint {
            covers_seq: 8,
            count: 8,
            ..
        }
    ));
    // With the right public key too, and the genesis key is the file's.
    let key = KeySource::File(env.key.clone()).load_or_create().unwrap();
    verify(&recs, Some(key.verifying_key())).unwrap();
}

// ---- tampering ----------------------------------------------------------------------

#[tokio::test]
async fn one_changed_byte_is_modified() {
    let env = Env::new();
    let s = populate(&env).await;
    let raw = env.raw().await;
    let text = get_record(&raw, 4).await;
    let changed = text.replacen("run.pause", "run.pausf", 1);
    assert_ne!(text, changed);
    set_record(&raw, 4, &changed).await;
    let (seq, problem, msg) = failed(check(&s, &env, true).await);
    assert_eq!((seq, problem), (4, Problem::Modified));
    assert!(msg.starts_with("FAILED at seq 4: modified:"), "{msg}");

    // A byte that breaks the JSON is named the same way.
    set_record(&raw, 4, &text).await;
    check(&s, &env, true).await.unwrap();
    set_record(&raw, 6, &text.replacen('{', "[", 1)).await;
    let (seq, problem, msg) = failed(check(&s, &env, true).await);
    assert_eq!((seq, problem), (6, Problem::Modified));
    assert!(msg.contains("not valid JSON"), "{msg}");
}

#[tokio::test]
async fn a_deleted_middle_record_is_removed() {
    let env = Env::new();
    let s = populate(&env).await;
    sqlx::query("DELETE FROM audit WHERE seq = 5")
        .execute(&env.raw().await)
        .await
        .unwrap();
    let (seq, problem, msg) = failed(check(&s, &env, true).await);
    assert_eq!((seq, problem), (5, Problem::Removed));
    assert!(msg.contains("seq 5 is missing"), "{msg}");
}

#[tokio::test]
async fn deleting_the_newest_records_is_truncation() {
    let env = Env::new();
    let s = populate(&env).await;
    let raw = env.raw().await;
    // Only the last checkpoint: the session end it was committed with gives it away.
    sqlx::query("DELETE FROM audit WHERE seq = 15")
        .execute(&raw)
        .await
        .unwrap();
    let (seq, problem, _) = failed(check(&s, &env, false).await);
    assert_eq!((seq, problem), (15, Problem::Truncated));

    // Cut back into the session: without the writer's witness it looks like a crash
    // (an unsealed tail), with it the cut is named.
    sqlx::query("DELETE FROM audit WHERE seq >= 12")
        .execute(&raw)
        .await
        .unwrap();
    let report = check(&s, &env, false).await.unwrap();
    let tail = report.unsealed_tail.unwrap();
    assert_eq!((tail.first_seq, tail.last_seq), (10, 11));
    let (seq, problem, msg) = failed(check(&s, &env, true).await);
    assert_eq!((seq, problem), (12, Problem::Truncated));
    assert!(msg.contains("checkpoint at seq 15"), "{msg}");

    // Cut back past an earlier checkpoint: the same.
    sqlx::query("DELETE FROM audit WHERE seq >= 9")
        .execute(&raw)
        .await
        .unwrap();
    assert_eq!(failed(check(&s, &env, false).await).1, Problem::Truncated);
    assert_eq!(failed(check(&s, &env, true).await).1, Problem::Truncated);
}

#[tokio::test]
async fn a_wiped_log_is_truncated_and_a_fresh_chain_is_replaced() {
    let env = Env::new();
    let s = populate(&env).await;
    let raw = env.raw().await;
    sqlx::query("DELETE FROM audit")
        .execute(&raw)
        .await
        .unwrap();
    // Empty: nothing to verify, but this host wrote to a log here.
    let (seq, problem, msg) = failed(check(&s, &env, true).await);
    assert_eq!((seq, problem), (1, Problem::Truncated));
    assert!(msg.contains("the log is empty"), "{msg}");

    // A new console starts a fresh chain, even under a new key (`keygen --force`).
    ebb::audit::keys::create(&env.key, true).unwrap();
    let c = open_log(&s, &env.key, "s-new").await;
    c.append(intent(1)).await.unwrap();
    c.close().await.unwrap();
    let (seq, problem, msg) = failed(check(&s, &env, true).await);
    assert_eq!((seq, problem), (1, Problem::Replaced));
    assert!(msg.contains("started over"), "{msg}");
    // The chain itself is whole: only the witness can tell.
    check(&s, &env, false).await.unwrap();

    // A witness that never saw this store's log but saw another here says replaced too;
    // one about another store says nothing.
    let mut w = Witness::load(&env.witness()).unwrap();
    let mine = records(&s).await[0].hash.clone();
    w.logs.remove(&mine);
    let recs = records(&s).await;
    let f = check_witness(&recs, &w, Some(&s.identity())).unwrap_err();
    assert_eq!(f.problem, Problem::Replaced, "{f}");
    check_witness(&recs, &w, Some("sqlite:/elsewhere/ebb.db")).unwrap();
}

#[tokio::test]
async fn an_extra_field_fails_verify_and_never_reaches_an_export() {
    let env = Env::new();
    let s = populate(&env).await;
    let raw = env.raw().await;
    let text = get_record(&raw, 4).await;
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["approved_by"] = json!("mallory");
    set_record(&raw, 4, &v.to_string()).await;
    let (seq, problem, msg) = failed(check(&s, &env, false).await);
    assert_eq!((seq, problem), (4, Problem::Modified));
    assert!(msg.contains("`approved_by`"), "{msg}");
    let mut out = Vec::new();
    let e = export_jsonl(&s, None, false, &mut out, async {})
        .await
        .unwrap_err();
    assert!(e.to_string().contains("does not verify"), "{e}");
    assert!(!contains(&out, b"mallory"));

    // Nested in the operator too.
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["operator"]["role"] = json!("admin");
    set_record(&raw, 4, &v.to_string()).await;
    let (_, _, msg) = failed(check(&s, &env, false).await);
    assert!(msg.contains("`operator.role`"), "{msg}");
}

#[tokio::test]
async fn index_columns_must_match_their_records_and_since_reads_the_record() {
    let env = Env::new();
    let s = populate(&env).await;
    let raw = env.raw().await;
    let recs = records(&s).await;
    // Backdating a row's at_ns column would hide it from --since.
    sqlx::query("UPDATE audit SET at_ns = 0 WHERE seq = 12")
        .execute(&raw)
        .await
        .unwrap();
    let (seq, problem, msg) = failed(check(&s, &env, false).await);
    assert_eq!((seq, problem), (12, Problem::Modified));
    assert!(msg.contains("index column at_ns"), "{msg}");
    sqlx::query("UPDATE audit SET at_ns = $1, kind = 'note' WHERE seq = 12")
        .bind(recs[11].at_ns)
        .execute(&raw)
        .await
        .unwrap();
    let (_, _, msg) = failed(check(&s, &env, false).await);
    assert!(msg.contains("index column kind"), "{msg}");
    sqlx::query("UPDATE audit SET kind = 'outcome' WHERE seq = 12")
        .execute(&raw)
        .await
        .unwrap();
    check(&s, &env, true).await.unwrap();
}

#[tokio::test]
async fn records_after_the_last_checkpoint_are_an_unsealed_tail() {
    let env = Env::new();
    let s = populate(&env).await;
    // A console that never closed (a crash): records after the last checkpoint.
    let c = open_log(&s, &env.key, "s-c").await;
    for i in 0..4 {
        c.append(intent(i)).await.unwrap();
    }
    let report = check(&s, &env, true).await.unwrap();
    let tail = report.unsealed_tail.clone().unwrap();
    assert_eq!((tail.first_seq, tail.last_seq, tail.records), (16, 20, 5));
    assert_eq!(tail.sessions, ["s-c"]);
    assert!(
        report.to_string().contains("unsealed tail: seq 16..=20"),
        "{report}"
    );
    // Deleting unsealed records cannot be told from an earlier crash: still a tail.
    sqlx::query("DELETE FROM audit WHERE seq >= 19")
        .execute(&env.raw().await)
        .await
        .unwrap();
    let tail = check(&s, &env, true).await.unwrap().unsealed_tail.unwrap();
    assert_eq!(tail.last_seq, 18);
    // A later checkpoint seals it.
    c.checkpoint().await.unwrap();
    assert_eq!(check(&s, &env, true).await.unwrap().unsealed_tail, None);
}

#[tokio::test]
async fn swapped_records_are_reordered() {
    let env = Env::new();
    let s = populate(&env).await;
    let raw = env.raw().await;
    let (five, six) = (get_record(&raw, 5).await, get_record(&raw, 6).await);
    set_record(&raw, 5, &six).await;
    set_record(&raw, 6, &five).await;
    let (seq, problem, msg) = failed(check(&s, &env, true).await);
    assert_eq!((seq, problem), (6, Problem::Reordered));
    assert!(msg.contains("seq 6 comes after seq 4"), "{msg}");
}

#[tokio::test]
async fn an_inserted_record_is_inserted() {
    let env = Env::new();
    let s = populate(&env).await;
    let raw = env.raw().await;
    let recs = records(&s).await;
    // Make room at seq 5 (the rows after move up, their JSON seq too), then insert a
    // well-formed record that links to seq 4 with a correct hash.
    for r in recs.iter().rev().filter(|r| r.seq >= 5) {
        let mut moved = r.clone();
        moved.seq += 1;
        sqlx::query("DELETE FROM audit WHERE seq = $1")
            .bind(r.seq as i64)
            .execute(&raw)
            .await
            .unwrap();
        put_row(&raw, &moved).await;
    }
    let mut forged = recs[3].clone();
    forged.action = Some("run.forged".into());
    seal(&mut forged, head_of(&recs[3]));
    assert_eq!(forged.seq, 5);
    put_row(&raw, &forged).await;
    let (seq, problem, msg) = failed(check(&s, &env, false).await);
    assert_eq!((seq, problem), (5, Problem::Inserted));
    assert!(msg.contains("seq 6 links to seq 4"), "{msg}");
}

#[tokio::test]
async fn a_record_appended_without_the_chain_is_inserted() {
    let env = Env::new();
    let s = populate(&env).await;
    let recs = records(&s).await;
    let mut forged = recs[14].clone();
    forged.kind = RecordKind::Note;
    forged.text = Some("nothing happened".into());
    seal(
        &mut forged,
        Head {
            seq: 15,
            hash: [9; 32],
        },
    );
    put_row(&env.raw().await, &forged).await;
    let (seq, problem, _) = failed(check(&s, &env, false).await);
    assert_eq!((seq, problem), (16, Problem::Inserted));
}

#[tokio::test]
async fn a_checkpoint_signed_by_another_key_is_foreign_and_a_bad_one_is_bad() {
    let env = Env::new();
    let s = populate(&env).await;
    let raw = env.raw().await;
    let recs = records(&s).await;
    let original = recs[14].clone();
    let head = head_of(&recs[13]);

    // Re-signed with another key (the record re-hashed so that only the key is wrong).
    let mut resigned = original.clone();
    resigned.kind = sign(&other_key(), head);
    seal(&mut resigned, head);
    put_row(&raw, &resigned).await;
    let (seq, problem, _) = failed(check(&s, &env, false).await);
    assert_eq!((seq, problem), (15, Problem::ForeignSignature));

    // Another key's signature under the log's public key: a bad signature.
    let mut bad = original.clone();
    let (
        RecordKind::Checkpoint {
            signature: forged_sig,
            ..
        },
        RecordKind::Checkpoint { .. },
    ) = (sign(&other_key(), head), &original.kind)
    else {
        panic!("not a checkpoint");
    };
    if let RecordKind::Checkpoint { signature, .. } = &mut bad.kind {
        *signature = forged_sig;
    }
    seal(&mut bad, head);
    put_row(&raw, &bad).await;
    let (seq, problem, _) = failed(check(&s, &env, false).await);
    assert_eq!((seq, problem), (15, Problem::BadSignature));

    put_row(&raw, &original).await;
    check(&s, &env, true).await.unwrap();
}

#[tokio::test]
async fn the_wrong_public_key_is_a_foreign_signature() {
    let env = Env::new();
    let s = populate(&env).await;
    let recs = records(&s).await;
    let f = verify(&recs, Some(other_key().verifying_key())).unwrap_err();
    assert_eq!((f.seq, f.problem), (1, Problem::ForeignSignature));

    // And a console with another key refuses to write to this log.
    let other = env.dir.path().join("other.key");
    let e = AuditLog::open(&s, KeySource::File(other), "s-x".into(), operator())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is not admitted to this log"), "{e}");
    assert!(e.to_string().contains("ebb audit keys add"), "{e}");
    assert_eq!(
        records(&s).await.len(),
        15,
        "nothing written under another key"
    );
}

// ---- concurrency --------------------------------------------------------------------

async fn two_consoles_keep_one_chain(s1: &Store, s2: &Store, key: &Path) {
    let a = open_log(s1, key, "console-a").await;
    let b = open_log(s2, key, "console-b").await;
    let mut tasks = Vec::new();
    for (log, n) in [
        (a.clone(), 0),
        (b.clone(), 1),
        (a.clone(), 2),
        (b.clone(), 3),
    ] {
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                log.append(intent(n * 100 + i)).await.unwrap();
                if i % 10 == 9 {
                    log.checkpoint().await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
    let recs = records(s1).await;
    let seqs: Vec<u64> = recs.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=recs.len() as u64).collect::<Vec<_>>());
    let report = verify(&recs, None).unwrap();
    // genesis + 2 starts + 100 intents + 8 periodic + 2 × (end + checkpoint)
    assert_eq!(
        (report.records, report.sessions, report.checkpoints),
        (115, 2, 10)
    );
    assert_eq!(report.unsealed_tail, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_consoles_on_one_sqlite_store_keep_one_chain() {
    let env = Env::new();
    let (s1, s2) = (env.store().await, env.store().await);
    two_consoles_keep_one_chain(&s1, &s2, &env.key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_audit_log_keeps_one_chain_and_detects_tampering() {
    let pg = PgCluster::start();
    pg.create_database("ebb").await;
    let url = pg.primary_url("ebb");
    let key = tempfile::tempdir().unwrap();
    let key = key.path().join("audit.key");
    let (s1, s2) = (
        Store::open(&url).await.unwrap(),
        Store::open(&url).await.unwrap(),
    );
    two_consoles_keep_one_chain(&s1, &s2, &key).await;
    // Which seq holds an intent depends on how the four writers interleaved: tamper
    // with the first `run.pause` record from seq 40 on, whatever its seq is.
    let target = records(&s1)
        .await
        .into_iter()
        .find(|r| r.seq >= 40 && r.action.as_deref() == Some("run.pause"))
        .expect("an intent record after seq 40")
        .seq;
    pg.execute(
        "ebb",
        &format!(
            "UPDATE audit SET record = replace(record, 'run.pause', 'run.pausf') WHERE seq = {target}"
        ),
    )
    .await;
    let recs = records(&s1).await;
    let f = verify(&recs, None).unwrap_err();
    assert_eq!((f.seq, f.problem), (target, Problem::Modified));
}

// ---- SIGKILL while writing ----------------------------------------------------------

/// Not a test: the writer the SIGKILL test runs in a child process (this binary, re-run
/// with `--exact audit::audit_writer_child --ignored`). Appends until killed.
#[tokio::test]
#[ignore = "run by sigkilled_writers_leave_a_verifiable_log as a child process"]
async fn audit_writer_child() {
    let (Ok(db), Ok(key)) = (
        std::env::var("EBB_AUDIT_CHILD_STORE"),
        std::env::var("EBB_AUDIT_CHILD_KEY"),
    ) else {
        return;
    };
    let s = Store::open(&db).await.unwrap();
    let session = format!("child-{}", std::process::id());
    let log = open_log(&s, Path::new(&key), &session).await;
    for i in 0.. {
        log.append(intent(i)).await.unwrap();
        if i % 7 == 6 {
            log.checkpoint().await.unwrap();
        }
    }
}

#[test]
fn sigkilled_writers_leave_a_verifiable_log() {
    let env = Env::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let me = std::env::current_exe().unwrap();
    let mut last_count = 0u64;
    let mut tails = 0;
    for i in 0..30u64 {
        let mut child = Command::new(&me)
            .args([
                "--exact",
                "audit::audit_writer_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("EBB_AUDIT_CHILD_STORE", env.spec())
            .env("EBB_AUDIT_CHILD_KEY", &env.key)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // 30..330 ms: a spread of points in the open / append / checkpoint cycle.
        let ms = 30 + (i.wrapping_mul(2_654_435_761) >> 7) % 300;
        std::thread::sleep(Duration::from_millis(ms));
        // SAFETY: signalling our own child by pid.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        let _ = child.wait();
        let report = rt.block_on(async {
            let s = env.store().await;
            let r = check(&s, &env, true).await;
            s.close().await;
            r
        });
        let report = report.unwrap_or_else(|f| panic!("kill {i} after {ms} ms: {f}"));
        assert!(report.records >= last_count, "kill {i}: records went back");
        last_count = report.records;
        tails += usize::from(report.unsealed_tail.is_some());
    }
    assert!(
        last_count > 30,
        "the writers barely wrote: {last_count} records"
    );
    eprintln!("30 kills: {last_count} records, {tails} unsealed tails, all verified");
}

// ---- secrets and exports ------------------------------------------------------------

const SECRETS: [&str; 5] = [
    "S3cretDSNpw",
    "KvPw_999",
    "JsonPw_123",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
    "tok-abcdef123456",
];

#[tokio::test]
async fn no_secret_reaches_the_store_or_an_export() {
    let env = Env::new();
    let s = env.store().await;
    let log = open_log(&s, &env.key, "s-secret").await;
    log.append(NewRecord {
        args: json!({
            "target": "postgres://app:S3cretDSNpw@db.prod:5432/orders",
            "dsn": "host=db user=app password=KvPw_999 dbname=orders",
            "password": "JsonPw_123",
            "headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"},
            "api_token": "tok-abcdef123456",
        }),
        outcome: Some("refused: cannot connect to postgres://app:S3cretDSNpw@db.prod/orders".into()),
        text: Some("curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl'\npassword=KvPw_999 \u{1b}[31mred".into()),
        ..NewRecord::intent("target.connect")
    })
    .await
    .unwrap();
    log.close().await.unwrap();

    let mut export = Vec::new();
    export_jsonl(&s, None, false, &mut export, async {})
        .await
        .unwrap();
    let recs = records(&s).await;
    s.close().await;

    let mut bytes = std::fs::read(&env.db).unwrap();
    for ext in ["db-wal", "db-shm"] {
        if let Ok(b) = std::fs::read(env.db.with_extension(ext)) {
            bytes.extend(b);
        }
    }
    let export = String::from_utf8(export).unwrap();
    for secret in SECRETS {
        assert!(
            !contains(&bytes, secret.as_bytes()),
            "{secret} is in the store file"
        );
        assert!(!export.contains(secret), "{secret} is in the export");
    }
    assert!(export.contains("[redacted]"));
    // Raw text from outside is kept escaped, not interpreted.
    let text = recs[2].text.as_deref().unwrap();
    assert!(text.contains("\\u{1b}[31mred"), "{text}");
    assert!(!text.contains('\u{1b}'));
    assert_eq!(
        recs[2].args["target"],
        "postgres://app:[redacted]@db.prod:5432/orders"
    );
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn ebb(env: &Env) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ebb"));
    c.env("EBB_STORE", env.spec())
        .env("XDG_CONFIG_HOME", env.dir.path().join("config"))
        .env("HOME", env.dir.path());
    c
}

#[tokio::test]
async fn export_then_verify_round_trips_through_the_cli() {
    let env = Env::new();
    let s = populate(&env).await;
    s.close().await;

    let out = ebb(&env)
        .args(["audit", "export", "--format", "jsonl"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 15);
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["kind"], "genesis");
    assert!(first["hash"].is_string() && first["prev_hash"].is_string());
    let file = env.dir.path().join("export.jsonl");
    std::fs::write(&file, &out.stdout).unwrap();

    let out = ebb(&env)
        .args(["audit", "verify", "--from-file"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(
        stdout.trim(),
        "OK: 15 records, 2 sessions, 2 checkpoints, last checkpoint at seq 15"
    );

    // The store itself, with the pubkey from `ebb audit pubkey`.
    let pubkey = ebb(&env).args(["audit", "pubkey"]).output().unwrap();
    let pubfile = env.dir.path().join("audit.pub");
    std::fs::write(&pubfile, &pubkey.stdout).unwrap();
    let out = ebb(&env)
        .args(["audit", "verify", "--pubkey"])
        .arg(&pubfile)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A tampered export fails with exit 1 and names the record.
    std::fs::write(
        &file,
        String::from_utf8_lossy(&std::fs::read(&file).unwrap()).replacen(
            "applied 1",
            "applied 7",
            1,
        ),
    )
    .unwrap();
    let out = ebb(&env)
        .args(["audit", "verify", "--from-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "FAILED at seq 12: modified: its hash does not match its content"
    );

    // show: a table with the operator and the action.
    let out = ebb(&env)
        .args(["audit", "show", "--limit", "9"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert_eq!(table.lines().count(), 10, "{table}");
    assert!(
        table.contains("alice as \"IC\"") && table.contains("run.pause"),
        "{table}"
    );
}

#[tokio::test]
async fn export_since_and_follow() {
    let env = Env::new();
    let s = populate(&env).await;
    let recs = records(&s).await;
    let since = recs[9].at_ns; // session b's start
    let mut out = Vec::new();
    export_jsonl(&s, Some(since), false, &mut out, async {})
        .await
        .unwrap();
    let first: AuditRecord =
        serde_json::from_str(String::from_utf8(out).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(first.seq, 10);

    // --follow picks up records written after it started.
    let log = open_log(&s, &env.key, "s-follow").await;
    let writer = {
        let log = log.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            log.append(NewRecord::note("late")).await.unwrap();
        })
    };
    let mut out = Vec::new();
    export_jsonl(
        &s,
        None,
        true,
        &mut out,
        tokio::time::sleep(Duration::from_millis(1_300)),
    )
    .await
    .unwrap();
    writer.await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 17, "{text}");
    assert!(text.lines().last().unwrap().contains("\"late\""));
}

// ---- a full disk, then room again ---------------------------------------------------

/// SQLite rolls a transaction back by itself on some errors (a full disk among them); the
/// trigger does the same, so the driver's ROLLBACK then finds no transaction.
const FULL_DISK: &str = "CREATE TRIGGER full_disk BEFORE INSERT ON audit
     BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END";

#[tokio::test]
async fn after_a_full_disk_frees_up_appends_succeed_again() {
    let env = Env::new();
    let s = populate(&env).await;
    let raw = env.raw().await;
    let log = open_log(&s, &env.key, "s-disk").await;
    sqlx::query(FULL_DISK).execute(&raw).await.unwrap();
    for i in 0..6 {
        let e = log.append(intent(i)).await.unwrap_err();
        assert!(e.to_string().contains("disk is full"), "{e}");
    }
    sqlx::query("DROP TRIGGER full_disk")
        .execute(&raw)
        .await
        .unwrap();
    // Every pooled connection must be usable again (none left mid-transaction).
    for i in 0..12 {
        log.append(intent(i))
            .await
            .unwrap_or_else(|e| panic!("append {i} after the disk freed up: {e}"));
    }
    log.close().await.unwrap();
    check(&s, &env, true).await.unwrap();
}

#[tokio::test]
async fn run_control_comes_back_by_itself_once_the_audit_log_is_writable_again() {
    use ebb::action::Action;
    use ebb::app::ActionSource;
    use ebb::cli::screenshot::{model_at, render_buffer};
    use ebb::control::{Delivery, Recorder, dispatch_recorded};
    let env = Env::new();
    let s = populate(&env).await;
    let raw = env.raw().await;
    let keymap = ebb::config::keymap_by_name("default").unwrap();
    let theme = ebb::config::theme_by_name("dark").unwrap();
    let scenario = ebb::sim::world::Scenario::load("backfill-slot-fill").unwrap();
    let mut m = model_at(&scenario, None, 42, 60, "oncall", &keymap);
    let mut rec = Recorder::new(Ok(open_log(&s, &env.key, "s-ui").await), None);
    let header = |m: &ebb::app::Model| {
        let buf = render_buffer(m, &keymap, &theme, 160, 48);
        (0..160u16)
            .map(|x| buf[(x, 0)].symbol().to_string())
            .collect::<String>()
    };
    sqlx::query(FULL_DISK).execute(&raw).await.unwrap();
    for _ in 0..3 {
        let cmds = dispatch_recorded(
            &mut m,
            &mut rec,
            &Delivery::Local,
            Action::RunPause,
            ActionSource::Key("p".into()),
        )
        .await;
        assert!(cmds.is_empty());
    }
    assert!(header(&m).contains("AUDIT DOWN"), "{}", header(&m));
    sqlx::query("DROP TRIGGER full_disk")
        .execute(&raw)
        .await
        .unwrap();
    // The next action is recorded: the header drops AUDIT DOWN and run control is back.
    dispatch_recorded(
        &mut m,
        &mut rec,
        &Delivery::Local,
        Action::RunPause,
        ActionSource::Key("p".into()),
    )
    .await;
    assert_eq!(m.audit_down, None);
    assert!(!header(&m).contains("AUDIT DOWN"), "{}", header(&m));
    let flash = m.flash.as_ref().map(|f| f.1.clone()).unwrap_or_default();
    assert!(!flash.contains("cannot be written"), "{flash}");
    let screen = render_buffer(&m, &keymap, &theme, 160, 48);
    let all: String = screen.content().iter().map(|c| c.symbol()).collect();
    assert!(all.contains("run control is back"), "{all}");
    let recs = records(&s).await;
    assert_eq!(recs.last().unwrap().action.as_deref(), Some("run.pause"));
}

// ---- periodic checkpoints -----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_written_periodically_only_while_a_run_is_active() {
    let env = Env::new();
    let s = env.store().await;
    let log = open_log(&s, &env.key, "s-tick").await;
    let count = |recs: Vec<AuditRecord>| {
        recs.iter()
            .filter(|r| matches!(r.kind, RecordKind::Checkpoint { .. }))
            .count()
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    let task = ebb::audit::spawn_checkpoints(log.clone(), Duration::from_millis(100), rx);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(count(records(&s).await), 0, "idle: no checkpoints");
    tx.send(true).unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    tx.send(false).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let active = count(records(&s).await);
    assert!(
        (2..=6).contains(&active),
        "{active} checkpoints while active"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(count(records(&s).await), active, "none after the run");
    drop(tx);
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .unwrap()
        .unwrap();
    log.close().await.unwrap();
    let report = check(&s, &env, true).await.unwrap();
    assert_eq!(report.checkpoints as usize, active + 1);
}
