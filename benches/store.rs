//! Journal transition commit on SQLite, fsync included, beside the machine's raw fsync.
//!
//! Budget (issue 3): a journal append + commit on SQLite (WAL, synchronous=FULL) is
//! ≤ 5 ms at p99. Criterion reports mean/median; `cargo bench --bench store` also prints
//! p50/p99/max from a manual loop of 1000 appends and of 1000 raw 4 KiB write+fsync, so
//! the store's number can be read against what the disk itself costs.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use ebb::store::{JournalEntry, NewRun, Store};

/// A directory on a real disk: the system temp dir unless it is tmpfs (no fsync cost
/// there), then one under the target directory.
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

struct Bench {
    rt: tokio::runtime::Runtime,
    store: Store,
    n: u64,
    dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        let dir = disk_dir();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let path = dir.path().join("bench.db");
        let store = rt
            .block_on(Store::open(path.to_str().expect("utf-8 path")))
            .expect("open store");
        rt.block_on(store.create_run(&NewRun {
            id: "r-bench".into(),
            plan_name: "bench".into(),
            plan_digest: "sha256:0".into(),
            plan_path: "bench.toml".into(),
            plan_source: String::new(),
            scenario: None,
            seed: None,
            operator: "bench".into(),
            kube_context: None,
            kube_namespace: None,
            at: 0,
        }))
        .expect("create run");
        Bench {
            rt,
            store,
            n: 0,
            dir,
        }
    }

    /// One step transition as the engine journals it: keyed, with a small JSON payload.
    fn append(&mut self) {
        self.n += 1;
        let e = JournalEntry {
            kind: "step.intent".into(),
            step_id: Some("pause-backfill".into()),
            idempotency_key: Some(format!("r-bench/pause-backfill/{}", self.n)),
            data: serde_json::json!({"batch": self.n, "target": "orders", "attempt": 1}),
            at: self.n as i64,
        };
        self.rt
            .block_on(self.store.append("r-bench", &e))
            .expect("append");
    }
}

fn raw_fsync(f: &mut File, block: &[u8]) {
    f.write_all(block).expect("write");
    f.sync_all().expect("fsync");
}

fn criterion_benches(c: &mut Criterion) {
    let mut b = Bench::new();
    c.bench_function("store/sqlite_append_commit", |it| it.iter(|| b.append()));

    let dir = disk_dir();
    let mut f = File::create(dir.path().join("fsync.bin")).expect("create");
    let block = [0x5au8; 4096];
    c.bench_function("store/raw_write_4k_fsync", |it| {
        it.iter(|| raw_fsync(&mut f, &block))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = criterion_benches
}

/// p50/p99/max of `n` timed calls.
fn percentiles(n: usize, mut f: impl FnMut()) -> (Duration, Duration, Duration) {
    let mut t: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    (t[n / 2], t[n * 99 / 100], t[n - 1])
}

fn manual_report() {
    const N: usize = 1000;
    let mut b = Bench::new();
    let (p50, p99, max) = percentiles(N, || b.append());
    println!(
        "store/sqlite_append_commit ({N} appends, WAL + synchronous=FULL, on {}): \
         p50 {p50:?}  p99 {p99:?}  max {max:?}  (budget p99 <= 5ms: {})",
        b.dir.path().display(),
        if p99 <= Duration::from_millis(5) {
            "met"
        } else {
            "MISSED"
        }
    );

    let dir = disk_dir();
    let mut f = File::create(dir.path().join("fsync.bin")).expect("create");
    let block = [0x5au8; 4096];
    let (p50, p99, max) = percentiles(N, || raw_fsync(&mut f, &block));
    println!("raw 4 KiB write + fsync ({N}x): p50 {p50:?}  p99 {p99:?}  max {max:?}");
}

fn main() {
    if std::env::args().any(|a| a == "--bench") {
        manual_report();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
