//! `sql_batches`: a statement run over keyset ranges `[$1, $2)` of a table, one
//! transaction and one marker row per batch, throttled by rate and replication lag.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::PgPool;
use tokio::sync::watch;

use super::lag::{LagThrottle, heartbeat, read_lag};
use super::{describe, ensure_schema, quote_ident, set_lock_timeout, with_lock_retry};
use crate::engine::Progress;

/// What a `sql_batches` step runs.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchSpec {
    pub table: String,
    /// An integer column (cast to bigint): the ranges are over its values.
    pub key_column: String,
    /// Keys per batch (the width of each range).
    pub batch: u64,
    /// Run once per range, with `$1` = lo and `$2` = hi (bigint, half-open).
    pub statement: String,
    pub max_rows_per_second: Option<u64>,
    /// Hold while a standby lags more than this (see `LagThrottle`).
    pub max_replication_lag: Option<Duration>,
    /// Hold while a standby is more than this many WAL bytes behind.
    pub max_replication_bytes: Option<u64>,
    pub lock_timeout: Duration,
    /// Attempts per batch on lock errors (55P03, 40P01), the first included.
    pub lock_attempts: u32,
}

impl BatchSpec {
    /// A spec with no throttle, a 2 s lock timeout and `LOCK_ATTEMPTS` attempts.
    pub fn new(table: &str, key_column: &str, batch: u64, statement: &str) -> BatchSpec {
        BatchSpec {
            table: table.to_string(),
            key_column: key_column.to_string(),
            batch,
            statement: statement.to_string(),
            max_rows_per_second: None,
            max_replication_lag: None,
            max_replication_bytes: None,
            lock_timeout: Duration::from_secs(2),
            lock_attempts: super::LOCK_ATTEMPTS,
        }
    }
}

/// How the console steers a running `sql_batches` step.
#[derive(Clone, Debug)]
pub struct BatchControl {
    /// `true` asks the run to stop at the next batch boundary.
    pub pause: watch::Receiver<bool>,
    /// Keys per batch from the next batch on; 0 means the spec's `batch`.
    pub batch_size: watch::Receiver<u64>,
    /// One line: rows done/total and rows/s, or why the step holds.
    pub progress: Progress,
    /// How often lag is read again while holding.
    pub lag_poll: Duration,
    /// Where the figures go for the Migration pane, when someone shows them.
    pub meter: Option<crate::engine::Meter>,
    /// Batches of the step committed so far, earlier runs included: what of it landed
    /// when it stops or fails.
    pub committed: Arc<AtomicU64>,
}

impl BatchControl {
    pub fn new(
        pause: watch::Receiver<bool>,
        batch_size: watch::Receiver<u64>,
        progress: Progress,
    ) -> BatchControl {
        BatchControl {
            pause,
            batch_size,
            progress,
            lag_poll: Duration::from_millis(100),
            meter: None,
            committed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Batches of the step committed so far (see `committed`).
    pub fn committed_batches(&self) -> u64 {
        self.committed.load(Ordering::SeqCst)
    }

    fn paused(&self) -> bool {
        *self.pause.borrow()
    }

    fn report(&self, text: String) {
        if let Ok(mut p) = self.progress.lock() {
            *p = Some(text);
        }
    }

    /// Updates the figures; `holding` replaces the hold reason (None: going on).
    fn measure(&self, f: impl FnOnce(&mut crate::engine::BatchFigures)) {
        if let Some(m) = &self.meter
            && let Ok(mut m) = m.lock()
        {
            let figures = m.get_or_insert(crate::engine::BatchFigures {
                rows_done: 0,
                rows_total: 0,
                rows_per_sec: 0.0,
                batch_size: 0,
                holding: None,
            });
            f(figures);
        }
    }
}

/// How a `run_batches` call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchesDone {
    /// Every range committed; counts include batches of earlier (resumed) runs.
    Finished { batches: u64, rows: u64 },
    /// Stopped at a batch boundary on a pause request; call again to resume.
    Paused { done_batches: u64 },
}

/// The key range fixed when the step first ran (`{step_key}/plan` marker).
struct Plan {
    min: Option<i64>,
    max: Option<i64>,
    total: i64,
}

/// Whether a `sql_batches` step keyed `step_key` ran: not at all (no committed batch), or
/// partly or wholly (running it again continues after its last committed batch).
pub async fn probe_batches(pool: &PgPool, step_key: &str) -> crate::engine::Probe {
    use crate::engine::Probe;
    let found: Result<(i64, Option<i64>), sqlx::Error> = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE key = $1 || '/plan'),
                max((detail->>'hi')::bigint) FILTER (WHERE starts_with(key, $1 || '/batch/'))
         FROM ebb.applied_steps WHERE starts_with(key, $1 || '/')",
    )
    .bind(step_key)
    .fetch_one(pool)
    .await;
    match found {
        Ok((0, _)) => Probe::NotHappened,
        // Its key range was planned but no batch committed: nothing of it landed. Running
        // it again reuses the planned range; a rollback has nothing of it to undo.
        Ok((_, None)) => Probe::NotHappened,
        Ok((_, Some(hi))) => Probe::Resumable(format!("key {hi}")),
        Err(e) if super::sqlstate(&e).as_deref() == Some("42P01") => Probe::NotHappened,
        Err(e) => Probe::Unknown(describe(&e)),
    }
}

/// Runs the step to the end or to a pause, resuming after the last committed batch.
///
/// The key range (min, max, row count) is read once and kept in a `{step_key}/plan`
/// marker; every batch commits its effect with a `{step_key}/batch/{lo}` marker
/// carrying `hi` and the rows it touched, and a resumed run starts at the highest
/// committed `hi`. A batch whose marker already exists is not run again.
pub async fn run_batches(
    pool: &PgPool,
    step_key: &str,
    spec: &BatchSpec,
    control: &BatchControl,
) -> Result<BatchesDone, String> {
    ensure_schema(pool).await?;
    let plan = plan(pool, step_key, spec).await?;
    let prefix = format!("{step_key}/batch/");
    let (next_lo, mut batches, mut rows): (Option<i64>, i64, i64) = sqlx::query_as(
        "SELECT max((detail->>'hi')::bigint), count(*),
                coalesce(sum((detail->>'rows')::bigint), 0)::bigint
         FROM ebb.applied_steps WHERE starts_with(key, $1)",
    )
    .bind(&prefix)
    .fetch_one(pool)
    .await
    .map_err(|e| format!("reading checkpoint: {}", describe(&e)))?;
    control
        .committed
        .store(batches.max(0) as u64, Ordering::SeqCst);
    let (Some(min), Some(max)) = (plan.min, plan.max) else {
        return Ok(BatchesDone::Finished {
            batches: 0,
            rows: 0,
        });
    };
    let mut lo = next_lo.unwrap_or(min);
    let mut throttle = LagThrottle::new(spec.max_replication_lag, spec.max_replication_bytes);
    let started = Instant::now();
    let mut rows_this_run: u64 = 0;
    let sql = spec.statement.as_str();
    while lo <= max {
        if control.paused() {
            return Ok(BatchesDone::Paused {
                done_batches: batches as u64,
            });
        }
        if throttle.enabled() && !hold_for_lag(pool, &mut throttle, control).await? {
            return Ok(BatchesDone::Paused {
                done_batches: batches as u64,
            });
        }
        let size = match *control.batch_size.borrow() {
            0 => spec.batch,
            n => n,
        }
        .clamp(1, i64::MAX as u64) as i64;
        let hi = lo.saturating_add(size).min(max.saturating_add(1));
        if hi <= lo {
            return Err(format!(
                "key {lo} cannot be covered: a half-open bigint range ends at most at {}",
                i64::MAX
            ));
        }
        let key = format!("{prefix}{lo}");
        let done = with_lock_retry(spec.lock_attempts.max(1), || {
            run_batch(pool, &key, step_key, sql, lo, hi, spec.lock_timeout)
        })
        .await
        .map_err(|e| format!("batch [{lo}, {hi}): {e}"))?;
        match done {
            BatchOutcome::Applied(n) => {
                batches += 1;
                control
                    .committed
                    .store(batches.max(0) as u64, Ordering::SeqCst);
                rows += n as i64;
                rows_this_run += n;
                lo = hi;
            }
            // Committed by another runner meanwhile: continue after its range.
            BatchOutcome::AlreadyDone(their_hi) => lo = their_hi.max(lo.saturating_add(1)),
        }
        let elapsed = started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            rows_this_run as f64 / elapsed
        } else {
            0.0
        };
        control.report(format!(
            "{rows}/{} rows, {batches} batches, next key {lo} of {max}, {rate:.0} rows/s",
            plan.total
        ));
        control.measure(|f| {
            f.rows_done = rows.max(0) as u64;
            f.rows_total = plan.total.max(0) as u64;
            f.rows_per_sec = rate;
            f.batch_size = size as u64;
            f.holding = None;
        });
        if let Some(limit) = spec.max_rows_per_second.filter(|l| *l > 0) {
            let due = Duration::from_secs_f64(rows_this_run as f64 / limit as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
    }
    Ok(BatchesDone::Finished {
        batches: batches as u64,
        rows: rows as u64,
    })
}

/// Waits while the throttle says hold, reporting why. `Ok(false)`: a pause was
/// requested; `Err`: the server itself stopped answering (the caller stops the step).
async fn hold_for_lag(
    pool: &PgPool,
    throttle: &mut LagThrottle,
    control: &BatchControl,
) -> Result<bool, String> {
    loop {
        let reason = match read_lag(pool).await {
            Ok(standbys) => throttle.assess(&standbys, Instant::now()),
            Err(e) if !super::reachable(pool).await => {
                return Err(format!("replica lag unknown: {e}"));
            }
            // Lag unknown on a live server: hold rather than run blind.
            Err(e) => Some(format!("replica lag unknown: {e}")),
        };
        let Some(reason) = reason else {
            return Ok(true);
        };
        control.measure(|f| f.holding = Some(reason.clone()));
        control.report(reason);
        if control.paused() {
            return Ok(false);
        }
        // Keep the standbys' replay reports fresh while nothing else writes.
        let _ = heartbeat(pool).await;
        tokio::time::sleep(control.lag_poll).await;
    }
}

enum BatchOutcome {
    Applied(u64),
    /// The marker existed; its `hi`.
    AlreadyDone(i64),
}

async fn run_batch(
    pool: &PgPool,
    key: &str,
    step_key: &str,
    statement: &str,
    lo: i64,
    hi: i64,
    lock_timeout: Duration,
) -> Result<BatchOutcome, sqlx::Error> {
    let mut tx = pool.begin().await?;
    set_lock_timeout(&mut tx, lock_timeout).await?;
    let inserted = sqlx::query(
        "INSERT INTO ebb.applied_steps (key, step_id, detail)
         VALUES ($1, $2, jsonb_build_object('lo', $3::bigint, 'hi', $4::bigint))
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(step_key)
    .bind(lo)
    .bind(hi)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        let their_hi: Option<i64> = sqlx::query_scalar(
            "SELECT (detail->>'hi')::bigint FROM ebb.applied_steps WHERE key = $1",
        )
        .bind(key)
        .fetch_one(&mut *tx)
        .await?;
        tx.rollback().await?;
        return Ok(BatchOutcome::AlreadyDone(their_hi.unwrap_or(hi)));
    }
    let n = sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
        .bind(lo)
        .bind(hi)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query(
        "UPDATE ebb.applied_steps SET detail = detail || jsonb_build_object('rows', $2::bigint)
         WHERE key = $1",
    )
    .bind(key)
    .bind(n as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(BatchOutcome::Applied(n))
}

/// Reads the step's plan marker, creating it from the table on the first run.
async fn plan(pool: &PgPool, step_key: &str, spec: &BatchSpec) -> Result<Plan, String> {
    let key = format!("{step_key}/plan");
    let read = || async {
        sqlx::query_as::<_, (Option<i64>, Option<i64>, Option<i64>)>(
            "SELECT (detail->>'min')::bigint, (detail->>'max')::bigint,
                    (detail->>'total')::bigint
             FROM ebb.applied_steps WHERE key = $1",
        )
        .bind(&key)
        .fetch_optional(pool)
        .await
        .map_err(|e| format!("reading plan of {step_key}: {}", describe(&e)))
    };
    if read().await?.is_none() {
        let col = quote_ident(&spec.key_column);
        let sql = format!(
            "SELECT min({col})::bigint, max({col})::bigint, count(*)::bigint FROM {}",
            quote_ident(&spec.table)
        );
        let (min, max, total): (Option<i64>, Option<i64>, i64) =
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .map_err(|e| format!("reading key range of {}: {}", spec.table, describe(&e)))?;
        sqlx::query(
            "INSERT INTO ebb.applied_steps (key, step_id, detail)
             VALUES ($1, $2, jsonb_build_object('min', $3::bigint, 'max', $4::bigint,
                                                'total', $5::bigint))
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(&key)
        .bind(step_key)
        .bind(min)
        .bind(max)
        .bind(total)
        .execute(pool)
        .await
        .map_err(|e| format!("recording plan of {step_key}: {}", describe(&e)))?;
    }
    match read().await? {
        Some((min, max, total)) => Ok(Plan {
            min,
            max,
            total: total.unwrap_or(0),
        }),
        None => Err(format!("plan of {step_key} vanished")),
    }
}
