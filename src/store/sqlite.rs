//! The SQLite backend: one file, WAL with `synchronous=FULL` (set and read back), writes
//! in `BEGIN IMMEDIATE` transactions so concurrent appenders queue instead of racing.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::types::Json;
use sqlx::{Row, SqliteConnection};

use super::{
    Durability, INITIAL_STATE, JournalEntry, JournalRecord, LeaseOutcome, NewRun, RunRow,
    StoreError, is_unique_violation, lease, parse_seed,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");

/// How long a writer waits for another (process or connection) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn open(spec: &str) -> Result<(SqlitePool, Durability), StoreError> {
    let open_err = |source| StoreError::Open {
        spec: spec.to_string(),
        source,
    };
    if let Err(e) = create_private(spec) {
        return Err(open_err(sqlx::Error::Io(e)));
    }
    let options = if spec.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(spec).map_err(open_err)?
    } else {
        SqliteConnectOptions::new().filename(spec)
    };
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(open_err)?;

    let durability = read_back(&pool).await?;
    MIGRATOR.run(&pool).await?;
    Ok((pool, durability))
}

/// The database file a spec names (a plain path, or a `sqlite:` URL's file).
fn file_of(spec: &str) -> std::path::PathBuf {
    if spec.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(spec)
            .map(|o| o.get_filename().to_path_buf())
            .unwrap_or_else(|_| spec.into())
    } else {
        std::path::PathBuf::from(spec)
    }
}

/// `sqlite:` and the file's canonical path.
pub(super) fn identity(spec: &str) -> String {
    let path = file_of(spec);
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    format!("sqlite:{}", path.display())
}

/// Creates a missing database file 0600 before SQLite does (with the umask); its WAL and
/// shared-memory files take the database file's mode. An existing file is left as it is.
fn create_private(spec: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    // In-memory and read-only databases have no file to create.
    if [":memory:", "mode=memory", "mode=ro"]
        .iter()
        .any(|m| spec.contains(m))
    {
        return Ok(());
    }
    let path = file_of(spec);
    if path.as_os_str().is_empty() {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Reads the pragmas back and refuses to run on a store that did not take them
/// (an in-memory database, say, cannot be WAL).
async fn read_back(pool: &SqlitePool) -> Result<Durability, StoreError> {
    let mut conn = pool.acquire().await?;
    let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await?;
    let synchronous = match synchronous {
        0 => "off".to_string(),
        1 => "normal".to_string(),
        2 => "full".to_string(),
        3 => "extra".to_string(),
        n => n.to_string(),
    };
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NotDurable {
            setting: "PRAGMA journal_mode",
            found: journal_mode,
            expected: "wal",
        });
    }
    if synchronous != "full" && synchronous != "extra" {
        return Err(StoreError::NotDurable {
            setting: "PRAGMA synchronous",
            found: synchronous,
            expected: "full (2)",
        });
    }
    Ok(Durability {
        backend: "sqlite",
        journal_mode: journal_mode.to_ascii_lowercase(),
        synchronous,
    })
}

pub(super) async fn create_run(pool: &SqlitePool, run: &NewRun) -> Result<(), StoreError> {
    let r = sqlx::query(
        "INSERT INTO runs (id, plan_name, plan_digest, plan_path, plan_source, scenario, seed,
                           state, created_at, updated_at, operator)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)",
    )
    .bind(&run.id)
    .bind(&run.plan_name)
    .bind(&run.plan_digest)
    .bind(&run.plan_path)
    .bind(&run.plan_source)
    .bind(&run.scenario)
    .bind(run.seed.map(|s| s.to_string()))
    .bind(INITIAL_STATE)
    .bind(run.at)
    .bind(&run.operator)
    .execute(pool)
    .await;
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e, "runs_pkey", "runs.id") => {
            Err(StoreError::RunExists(run.id.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

const RUN_COLUMNS: &str = "id, plan_name, plan_digest, plan_path, plan_source, scenario, seed, \
                           state, created_at, updated_at, operator";

fn run_row(r: &SqliteRow) -> Result<RunRow, StoreError> {
    Ok(RunRow {
        id: r.try_get("id")?,
        plan_name: r.try_get("plan_name")?,
        plan_digest: r.try_get("plan_digest")?,
        plan_path: r.try_get("plan_path")?,
        plan_source: r.try_get("plan_source")?,
        scenario: r.try_get("scenario")?,
        seed: parse_seed(r.try_get("seed")?)?,
        state: r.try_get("state")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        operator: r.try_get("operator")?,
    })
}

pub(super) async fn run(pool: &SqlitePool, id: &str) -> Result<Option<RunRow>, StoreError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(run_row).transpose()
}

pub(super) async fn runs(pool: &SqlitePool) -> Result<Vec<RunRow>, StoreError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at DESC, id DESC");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?;
    rows.iter().map(run_row).collect()
}

pub(super) async fn set_run_state(
    pool: &SqlitePool,
    id: &str,
    state: &str,
    at: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE runs SET state = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(state)
        .bind(at)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NoSuchRun(id.to_string()));
    }
    Ok(())
}

pub(super) async fn append(
    pool: &SqlitePool,
    run_id: &str,
    e: &JournalEntry,
) -> Result<i64, StoreError> {
    let mut conn = pool.acquire().await?;
    let result = append_on(&mut conn, run_id, e).await;
    super::discard_on_error(&mut conn, &result);
    result
}

async fn append_on(
    conn: &mut SqliteConnection,
    run_id: &str,
    e: &JournalEntry,
) -> Result<i64, StoreError> {
    use sqlx::Connection;
    // IMMEDIATE takes the write lock up front: the max(seq) read and the insert are one
    // step that no other writer (connection or process) can interleave with.
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let seq = next_seq(&mut tx, run_id, e).await?;
    sqlx::query(
        "INSERT INTO journal (run_id, seq, at, kind, step_id, idempotency_key, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(run_id)
    .bind(seq)
    .bind(e.at)
    .bind(&e.kind)
    .bind(&e.step_id)
    .bind(&e.idempotency_key)
    .bind(Json(&e.data))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(seq)
}

/// Inside the write transaction: the run exists, the key is new, and the next seq.
async fn next_seq(
    conn: &mut SqliteConnection,
    run_id: &str,
    e: &JournalEntry,
) -> Result<i64, StoreError> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM runs WHERE id = $1")
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        return Err(StoreError::NoSuchRun(run_id.to_string()));
    }
    if let Some(key) = &e.idempotency_key {
        let dup: Option<i64> = sqlx::query_scalar(
            "SELECT seq FROM journal WHERE run_id = $1 AND idempotency_key = $2 AND kind = $3",
        )
        .bind(run_id)
        .bind(key)
        .bind(&e.kind)
        .fetch_optional(&mut *conn)
        .await?;
        if dup.is_some() {
            return Err(StoreError::Duplicate {
                run_id: run_id.to_string(),
                kind: e.kind.clone(),
                key: key.clone(),
            });
        }
    }
    let seq: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM journal WHERE run_id = $1")
            .bind(run_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(seq)
}

pub(super) async fn journal(
    pool: &SqlitePool,
    run_id: &str,
) -> Result<Vec<JournalRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at, kind, step_id, idempotency_key, data FROM journal
         WHERE run_id = $1 ORDER BY seq",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let Json(data) = r.try_get::<Json<serde_json::Value>, _>("data")?;
            Ok(JournalRecord {
                seq: r.try_get("seq")?,
                kind: r.try_get("kind")?,
                step_id: r.try_get("step_id")?,
                idempotency_key: r.try_get("idempotency_key")?,
                data,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

pub(super) async fn acquire_lease(
    pool: &SqlitePool,
    run_id: &str,
    holder: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<LeaseOutcome, StoreError> {
    for _ in 0..lease::ATTEMPTS {
        let got: Option<String> = sqlx::query_scalar(lease::ACQUIRE)
            .bind(run_id)
            .bind(holder)
            .bind(now)
            .bind(now.saturating_add(ttl_ms))
            .fetch_optional(pool)
            .await?;
        if got.is_some() {
            return Ok(LeaseOutcome::Acquired);
        }
        let held: Option<(String, i64)> = sqlx::query_as(lease::HOLDER)
            .bind(run_id)
            .fetch_optional(pool)
            .await?;
        if let Some((holder, expires_at)) = held {
            return Ok(LeaseOutcome::HeldBy { holder, expires_at });
        }
        // Released between the two statements: try again.
    }
    Err(StoreError::LeaseChurn(run_id.to_string()))
}

pub(super) async fn renew_lease(
    pool: &SqlitePool,
    run_id: &str,
    holder: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(lease::RENEW)
        .bind(run_id)
        .bind(holder)
        .bind(now.saturating_add(ttl_ms))
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn release_lease(
    pool: &SqlitePool,
    run_id: &str,
    holder: &str,
) -> Result<(), StoreError> {
    sqlx::query(lease::RELEASE)
        .bind(run_id)
        .bind(holder)
        .execute(pool)
        .await?;
    Ok(())
}
