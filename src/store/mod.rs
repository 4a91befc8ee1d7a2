//! The durable store behind runs: journal, runs, leases, the audit log and the run bus, in
//! SQLite (default) or PostgreSQL, behind one async API; every write commits before it returns.

/// Runs one dialect-generic operation, `f(&Db, args…)`, on whichever pool the store has
/// (the operations themselves are written once, against [`dialect::Dialect`]).
macro_rules! dispatch {
    ($self:ident, $($f:ident)::+ ( $($arg:expr),* )) => {
        match &$self.backend {
            $crate::store::Backend::Sqlite(pool) => {
                $($f)::+(&$crate::store::db::Db::new(pool, &$self.sent), $($arg),*).await
            }
            $crate::store::Backend::Postgres(pool) => {
                $($f)::+(&$crate::store::db::Db::new(pool, &$self.sent), $($arg),*).await
            }
        }
    };
}

mod audit;
mod bus;
mod changes;
mod db;
mod dialect;
mod journal;
mod lease;
mod paths;
mod policy;
mod postgres;
mod recordings;
mod runs;
mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use audit::{AuditHead, AuditQuery, AuditRow};
pub use bus::{ConsoleRow, LeaseRow, NewRequest, RequestRow, RunEventRow, RunViewRow};
pub use changes::Changes;
pub use journal::{INITIAL_STATE, JournalEntry, JournalRecord, NewRun, RunRow};
pub use lease::LeaseOutcome;
pub use paths::{default_path, open_failed, spec_from_env, store_spec};
pub use policy::{NewPlanApproval, NewPolicy, PlanApprovalRow, PolicyRow};
pub use recordings::{ChunkRow, NewChunk, RecordedConsole};

use crate::time::Timestamp;

/// Everything the store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `spec` has its password redacted (see [`open_failed`] for the whole message); a
    /// certificate failure is said in words.
    #[error("cannot open the store {spec}: {}", crate::tls::describe_pg(.source))]
    Open {
        spec: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate the store's schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the store is not durable: {setting} is {found}, expected {expected}")]
    NotDurable {
        setting: &'static str,
        found: String,
        expected: &'static str,
    },
    #[error(transparent)]
    NoStateDir(#[from] crate::xdg::NoBaseDir),
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("run {0} already exists")]
    RunExists(String),
    #[error("no run {0}")]
    NoSuchRun(String),
    #[error("run {run_id}: {kind} with idempotency key {key} is already journaled")]
    Duplicate {
        run_id: String,
        kind: String,
        key: String,
    },
    #[error("run {0}: its lease kept changing hands while acquiring it")]
    LeaseChurn(String),
    #[error("the store holds a bad value in {what}: {found}")]
    Corrupt { what: &'static str, found: String },
    #[error("store: {0}")]
    Db(#[from] sqlx::Error),
}

/// The durability settings the store read back from its database at open.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Durability {
    /// `"sqlite"` or `"postgres"`.
    pub backend: &'static str,
    /// SQLite: `PRAGMA journal_mode` (always `"wal"`). PostgreSQL: `"wal"` (with `fsync` on).
    pub journal_mode: String,
    /// SQLite: `PRAGMA synchronous` by name (always `"full"`). PostgreSQL: `synchronous_commit`.
    pub synchronous: String,
}

/// An open store. Cheap to clone (a connection pool inside).
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    durability: Durability,
    identity: String,
    /// Statements sent since open, by every clone ([`Store::statements`]).
    sent: Arc<AtomicU64>,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// The PostgreSQL pool of a store opened with [`Store::open`].
pub const PG_CONNECTIONS: u32 = 8;
/// The PostgreSQL pool of a console's store ([`Store::open_for_console`]); its change
/// feed listens on one more connection.
pub const PG_CONSOLE_CONNECTIONS: u32 = 2;

impl Store {
    /// Opens (creating and migrating when needed) the store named by `spec`: a
    /// `postgres://`/`postgresql://` URL, a `sqlite:` URL, or a plain file path.
    /// Refuses a database whose durability settings did not take.
    pub async fn open(spec: &str) -> Result<Store, StoreError> {
        Store::open_with(spec, PG_CONNECTIONS).await
    }

    /// [`Store::open`] for a console attached to a run: a PostgreSQL pool of
    /// [`PG_CONSOLE_CONNECTIONS`], so twenty consoles on one run (and its runner) stay well
    /// inside a server's default 100 connections.
    pub async fn open_for_console(spec: &str) -> Result<Store, StoreError> {
        Store::open_with(spec, PG_CONSOLE_CONNECTIONS).await
    }

    async fn open_with(spec: &str, pg_connections: u32) -> Result<Store, StoreError> {
        let (backend, durability, identity) =
            if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
                let (pool, d) = postgres::open(spec, pg_connections).await?;
                (Backend::Postgres(pool), d, postgres::identity(spec))
            } else {
                let (pool, d) = sqlite::open(spec).await?;
                (Backend::Sqlite(pool), d, sqlite::identity(spec))
            };
        Ok(Store {
            backend,
            durability,
            identity,
            sent: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Opens the default store, `$XDG_STATE_HOME/ebb/ebb.db` (or
    /// `~/.local/state/ebb/ebb.db`), creating its directory with mode 0700.
    pub async fn open_default() -> Result<Store, StoreError> {
        let path = default_path()?;
        paths::create_state_dir(&path)?;
        Store::open(&path.to_string_lossy()).await
    }

    /// Which database this is, without secrets, the same however it was named:
    /// `sqlite:/abs/path/ebb.db` or `postgres://host:port/dbname`.
    pub fn identity(&self) -> String {
        self.identity.clone()
    }

    /// What the database said about durability when the store was opened.
    pub fn durability(&self) -> Durability {
        self.durability.clone()
    }

    /// Records a new run in state [`INITIAL_STATE`]; an existing id is `RunExists`.
    pub async fn create_run(&self, run: &NewRun) -> Result<(), StoreError> {
        dispatch!(self, runs::create_run(run))
    }

    pub async fn run(&self, id: &str) -> Result<Option<RunRow>, StoreError> {
        dispatch!(self, runs::run(id))
    }

    /// All runs, newest first.
    pub async fn runs(&self) -> Result<Vec<RunRow>, StoreError> {
        dispatch!(self, runs::runs())
    }

    /// Sets a run's state and `updated_at`; an unknown id is `NoSuchRun`.
    pub async fn set_run_state(&self, id: &str, state: &str, at: i64) -> Result<(), StoreError> {
        dispatch!(self, runs::set_run_state(id, state, at))
    }

    /// Journals `e` for `run_id` and returns its sequence number (one more than the
    /// run's last). The same `(idempotency_key, kind)` twice is `Duplicate` and uses no seq.
    pub async fn append(&self, run_id: &str, e: &JournalEntry) -> Result<i64, StoreError> {
        dispatch!(self, runs::append(run_id, e))
    }

    /// A run's journal in sequence order.
    pub async fn journal(&self, run_id: &str) -> Result<Vec<JournalRecord>, StoreError> {
        dispatch!(self, runs::journal(run_id))
    }

    /// Takes the run's lease for `ttl_ms` if it is free, expired, or already `holder`'s
    /// (then it is renewed). Atomic: one conditional upsert.
    pub async fn acquire_lease(
        &self,
        run_id: &str,
        holder: &str,
        now: i64,
        ttl_ms: i64,
    ) -> Result<LeaseOutcome, StoreError> {
        dispatch!(self, runs::acquire_lease(run_id, holder, now, ttl_ms))
    }

    /// Extends `holder`'s lease to `now + ttl_ms`; false if `holder` no longer holds it.
    pub async fn renew_lease(
        &self,
        run_id: &str,
        holder: &str,
        now: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, runs::renew_lease(run_id, holder, now, ttl_ms))
    }

    /// Gives the lease up if `holder` has it; otherwise does nothing.
    pub async fn release_lease(&self, run_id: &str, holder: &str) -> Result<(), StoreError> {
        dispatch!(self, runs::release_lease(run_id, holder))
    }

    /// How many statements this store (all its clones) has sent since it was opened, the
    /// change feeds' polls included, for benchmarks of the watcher budget: one per
    /// statement, `BEGIN` and `COMMIT` included, and a listener's (re-)`LISTEN`. A
    /// transaction an error cuts short is rolled back by the driver, uncounted.
    pub fn statements(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Closes the pool, waiting for connections to finish (SQLite checkpoints its WAL).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(pool) => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

/// Closes `conn` instead of returning it to the pool when its write transaction failed.
/// SQLite rolls a transaction back by itself on some errors (a full disk among them); the
/// driver's own rollback then fails and would leave the pooled connection "inside a
/// transaction" for every later writer ("begin_with at non-zero transaction depth").
fn discard_on_error<DB: sqlx::Database, T, E>(
    conn: &mut sqlx::pool::PoolConnection<DB>,
    result: &Result<T, E>,
) {
    if result.is_err() {
        conn.close_on_drop();
    }
}

/// A short, sortable, unique run id: `r-YYYYMMDD-HHMMSS-xxxx` (UTC), where `xxxx` is
/// 4 hex digits that start from a per-process random point and count up, so ids made
/// by one process in the same second differ.
pub fn new_run_id(now_ms: i64) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        splitmix64(nanos ^ (u64::from(std::process::id()) << 32))
    });
    let n = start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) & 0xffff;
    // "2026-11-24T03:05:01Z" → "20261124-030501"
    let stamp: String = Timestamp(now_ms)
        .rfc3339()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .map(|c| if c == 'T' { '-' } else { c })
        .collect();
    format!("r-{stamp}-{n:04x}")
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Parses the decimal seed column back into a u64.
fn parse_seed(s: Option<String>) -> Result<Option<u64>, StoreError> {
    s.map(|s| {
        s.parse::<u64>().map_err(|_| StoreError::Corrupt {
            what: "runs.seed",
            found: s,
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_time_and_differ() {
        let a = new_run_id(1_795_489_501_000); // 2026-11-24T03:05:01Z
        let b = new_run_id(1_795_489_501_000);
        let c = new_run_id(1_795_489_562_000);
        assert!(a.starts_with("r-20261124-030501-"), "{a}");
        assert_eq!(a.len(), "r-20261124-030501-7f3a".len());
        assert_ne!(a, b);
        assert!(c > a && c > b, "{a} {b} {c}");
    }

    #[test]
    fn seeds_round_trip_as_decimal() {
        assert_eq!(
            parse_seed(Some(u64::MAX.to_string())).unwrap(),
            Some(u64::MAX)
        );
        assert_eq!(parse_seed(None).unwrap(), None);
        assert!(parse_seed(Some("x".into())).is_err());
    }
}
