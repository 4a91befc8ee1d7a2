//! Audit log budgets (issue 4): append + commit of one record on SQLite ≤ 5 ms p99, and
//! verifying 100,000 records ≤ 1 s. Criterion reports means; `cargo bench --bench audit`
//! also prints p50/p99/max of a manual loop of 1000 appends.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use ebb::audit::chain::{Head, seal};
use ebb::audit::checkpoint::sign;
use ebb::audit::{
    AuditLog, AuditRecord, KeySource, NewRecord, Operator, RecordKind, verify, verify_texts,
};
use ebb::store::Store;
use ed25519_dalek::SigningKey;
use serde_json::json;

/// A directory on a real disk: the system temp dir unless it is tmpfs (no fsync cost).
fn disk_dir() -> tempfile::TempDir {
    let tmp = std::env::temp_dir();
    if !is_tmpfs(&tmp) {
        return tempfile::tempdir_in(&tmp).expect("temp dir");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&target).expect("target dir");
    tempfile::tempdir_in(&target).expect("temp dir under target/")
}

fn is_tmpfs(dir: &Path) -> bool {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid C string and `st` is a plain struct statfs fills in.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as i64 == TMPFS_MAGIC
    }
}

fn record(i: u64) -> NewRecord {
    NewRecord {
        key: Some("p".into()),
        run_id: Some("r-20261124-030501-7f3a".into()),
        step_id: Some("pause-backfill".into()),
        args: json!({"step": "pause-backfill", "attempt": i, "dsn": "postgres://app:pw@db/orders"}),
        ..NewRecord::intent("run.pause")
    }
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42u8; 32])
}

fn operator() -> Operator {
    Operator::from_env(Some("bench"))
}

/// 100,000 records as stored JSON: sessions of 1000 records, each closed by a checkpoint.
fn chain(n: u64) -> Vec<String> {
    let k = key();
    let mut head = Head::EMPTY;
    let mut out = Vec::with_capacity(n as usize);
    let base = AuditRecord {
        seq: 0,
        at_ns: 1_795_489_501_000_000_000,
        session: "s-bench".into(),
        kind: RecordKind::Genesis {
            public_key: hex::encode(k.verifying_key().as_bytes()),
        },
        operator: operator(),
        key: None,
        action: None,
        run_id: None,
        step_id: None,
        args: serde_json::Value::Null,
        outcome: None,
        plan_digest: None,
        text: None,
        prev_hash: String::new(),
        hash: String::new(),
    };
    for i in 0..n {
        let mut r = base.clone();
        r.at_ns += i as i64;
        if i > 0 {
            if i % 1000 == 999 {
                r.kind = sign(&k, head);
            } else {
                let nr = record(i);
                r.kind = RecordKind::Intent;
                r.key = nr.key;
                r.action = nr.action;
                r.run_id = nr.run_id;
                r.step_id = nr.step_id;
                r.args = json!({"step": "pause-backfill", "attempt": i});
                r.outcome = Some("applied".into());
            }
        }
        head = seal(&mut r, head);
        out.push(serde_json::to_string(&r).expect("json"));
    }
    out
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = disk_dir();
    let store = rt
        .block_on(Store::open(&dir.path().join("audit.db").to_string_lossy()))
        .expect("store");
    let log = rt
        .block_on(AuditLog::open(
            &store,
            KeySource::Key(Box::new(key())),
            "s-bench".into(),
            operator(),
        ))
        .expect("log");

    // Manual loop: the p99 the budget is about.
    let mut times: Vec<Duration> = (0..1000)
        .map(|i| {
            let t = Instant::now();
            rt.block_on(log.append(record(i))).expect("append");
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "audit append+commit (SQLite, 1000 appends): p50 {:?}  p99 {:?}  max {:?}  (budget p99 ≤ 5 ms)",
        times[499], times[989], times[999]
    );

    let mut i = 1000;
    c.bench_function("audit append+commit (sqlite)", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(log.append(record(i))).expect("append")
        })
    });

    let texts = chain(100_000);
    let t = Instant::now();
    let (records, report) = verify_texts(
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| (i as u64 + 1, t.as_str())),
        None,
    )
    .expect("verifies");
    println!(
        "verify 100,000 records (parse + verify): {:?}  ({report})  (budget ≤ 1 s)",
        t.elapsed()
    );
    let t = Instant::now();
    verify(&records, None).expect("verifies");
    println!("verify 100,000 parsed records: {:?}", t.elapsed());

    let mut g = c.benchmark_group("audit verify");
    g.sample_size(10);
    g.bench_function("100k records from JSON", |b| {
        b.iter(|| {
            verify_texts(
                texts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (i as u64 + 1, t.as_str())),
                None,
            )
            .expect("ok")
        })
    });
    g.finish();
    rt.block_on(store.close());
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
