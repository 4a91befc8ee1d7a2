//! PostgreSQL: the source task (`source`), and the actuators of `sql` and `sql_batches` steps,
//! each effect committed with its marker row in `ebb.applied_steps` so `probe` resolves doubt.

mod batches;
mod checks;
mod lag;
pub mod source;
pub mod step;
mod targets;

use std::future::Future;
use std::time::Duration;

use sqlx::postgres::PgPool;

use crate::engine::Probe;

pub use batches::{BatchControl, BatchSpec, BatchesDone, probe_batches, run_batches};
pub use checks::{EVALUATE_TIMEOUT, PgBaseline, QUERY_TIMEOUT, SCAN_TIMEOUT, evaluate};
pub use lag::{LagThrottle, StandbyLag, heartbeat, read_lag};
pub use targets::PgTargets;

/// Attempts of a transaction that failed on a lock error (the first included).
pub const LOCK_ATTEMPTS: u32 = 5;
/// Backoff before the second attempt; doubles each time.
const LOCK_BACKOFF: Duration = Duration::from_millis(50);

/// Creates the marker schema and tables (markers, heartbeat) when missing.
pub async fn ensure_schema(pool: &PgPool) -> Result<(), String> {
    let create = || {
        sqlx::raw_sql(
            "CREATE SCHEMA IF NOT EXISTS ebb;
             CREATE TABLE IF NOT EXISTS ebb.applied_steps (
                 key text PRIMARY KEY,
                 step_id text,
                 applied_at timestamptz DEFAULT now(),
                 detail jsonb
             );
             CREATE TABLE IF NOT EXISTS ebb.heartbeat (id int PRIMARY KEY, at timestamptz);",
        )
        .execute(pool)
    };
    let mut result = create().await;
    // Two sessions creating at once: one loses on the catalog's unique index; again.
    if let Err(e) = &result
        && matches!(
            sqlstate(e).as_deref(),
            Some("23505") | Some("42P06") | Some("42P07")
        )
    {
        result = create().await;
    }
    result
        .map(|_| ())
        .map_err(|e| format!("creating ebb.applied_steps: {}", describe(&e)))
}

/// Runs `statement` (one or more SQL statements, no parameters, no transaction
/// control) and records `key` in the same transaction. When `key` is already recorded
/// the statement is not run again and the call succeeds. Lock errors are retried.
pub async fn apply_sql(
    pool: &PgPool,
    key: &str,
    step_id: &str,
    statement: &str,
    lock_timeout: Duration,
) -> Result<(), String> {
    ensure_schema(pool).await?;
    with_lock_retry(LOCK_ATTEMPTS, || {
        apply_sql_once(pool, key, step_id, statement, lock_timeout)
    })
    .await
    .map(|_| ())
    .map_err(|e| format!("step {step_id}: {e}"))
}

async fn apply_sql_once(
    pool: &PgPool,
    key: &str,
    step_id: &str,
    statement: &str,
    lock_timeout: Duration,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    set_lock_timeout(&mut tx, lock_timeout).await?;
    // The marker first: a second runner with the same key waits on it, then skips.
    let inserted = sqlx::query(
        "INSERT INTO ebb.applied_steps (key, step_id, detail)
         VALUES ($1, $2, '{}'::jsonb) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(step_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string()))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Whether the effect keyed `key` committed: its marker row exists.
pub async fn probe(pool: &PgPool, key: &str) -> Probe {
    let found: Result<Option<i32>, sqlx::Error> =
        sqlx::query_scalar("SELECT 1 FROM ebb.applied_steps WHERE key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await;
    match found {
        Ok(Some(_)) => Probe::Happened,
        Ok(None) => Probe::NotHappened,
        // No marker table: nothing was ever recorded in this database.
        Err(e) if sqlstate(&e).as_deref() == Some("42P01") => Probe::NotHappened,
        Err(e) => Probe::Unknown(describe(&e)),
    }
}

/// Whether the server answers `SELECT 1` within the connect timeout.
pub async fn reachable(pool: &PgPool) -> bool {
    let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool);
    matches!(
        tokio::time::timeout(targets::CONNECT_TIMEOUT, ping).await,
        Ok(Ok(1))
    )
}

/// `SET LOCAL lock_timeout` for the current transaction.
async fn set_lock_timeout(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    lock_timeout: Duration,
) -> Result<(), sqlx::Error> {
    let ms = lock_timeout.as_millis().max(1).to_string();
    sqlx::query("SELECT set_config('lock_timeout', $1, true)")
        .bind(format!("{ms}ms"))
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The SQLSTATE of a database error.
fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// 55P03 lock_not_available (lock_timeout) and 40P01 deadlock_detected.
fn is_lock_error(e: &sqlx::Error) -> bool {
    matches!(sqlstate(e).as_deref(), Some("55P03") | Some("40P01"))
}

/// An error as one line, with its SQLSTATE when the server sent one, or the certificate
/// problem in words when TLS failed.
fn describe(e: &sqlx::Error) -> String {
    match sqlstate(e) {
        Some(code) => format!("{e} (SQLSTATE {code})"),
        None => crate::tls::describe_pg(e),
    }
}

/// Runs `attempt` until it succeeds, fails on something other than a lock error, or
/// fails `attempts` times on lock errors (exponential backoff in between).
async fn with_lock_retry<T, F, Fut>(attempts: u32, mut attempt: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut backoff = LOCK_BACKOFF;
    let mut n = 1;
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) if is_lock_error(&e) && n < attempts => {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
                n += 1;
            }
            Err(e) if is_lock_error(&e) => {
                return Err(format!(
                    "lock timeout: gave up after {n} attempts: {}",
                    describe(&e)
                ));
            }
            Err(e) => return Err(describe(&e)),
        }
    }
}

/// `name` or `schema.name` as a quoted identifier.
fn quote_ident(name: &str) -> String {
    name.split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}
