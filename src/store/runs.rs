//! Runs, their journal and their leases, written once for both dialects: appends to one
//! run serialize on its row, writes announce the run on the bus where the dialect does.

use sqlx::types::Json;

use super::db::Db;
use super::dialect::{Args, Col, Dialect, Lock, Unique};
use super::{
    INITIAL_STATE, JournalEntry, JournalRecord, LeaseOutcome, LeaseRow, NewRun, RunRow, StoreError,
    discard_on_error, lease, parse_seed,
};

const RUNS_PKEY: Unique = Unique {
    name: "runs_pkey",
    columns: "runs.id",
};

const JOURNAL_IDEMPOTENCY: Unique = Unique {
    name: "journal_idempotency",
    columns: "journal.run_id, journal.idempotency_key, journal.kind",
};

pub(super) async fn create_run<DB: Dialect>(
    db: &Db<'_, DB>,
    run: &NewRun,
) -> Result<(), StoreError> {
    let q = sqlx::query(
        "INSERT INTO runs (id, plan_name, plan_digest, plan_path, plan_source, scenario, seed,
                           state, created_at, updated_at, operator, kube_context, kube_namespace)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12)",
    )
    .arg(run.id.as_str())
    .arg(run.plan_name.as_str())
    .arg(run.plan_digest.as_str())
    .arg(run.plan_path.as_str())
    .arg(run.plan_source.as_str())
    .arg(run.scenario.as_deref())
    .arg(run.seed.map(|s| s.to_string()).as_deref())
    .arg(INITIAL_STATE)
    .arg(run.at)
    .arg(run.operator.as_str())
    .arg(run.kube_context.as_deref())
    .arg(run.kube_namespace.as_deref());
    match db.execute(q).await {
        Ok(_) => Ok(()),
        Err(e) if DB::is_unique_violation(&e, RUNS_PKEY) => {
            Err(StoreError::RunExists(run.id.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

const RUN_COLUMNS: &str = "id, plan_name, plan_digest, plan_path, plan_source, scenario, seed, \
                           state, created_at, updated_at, operator, kube_context, kube_namespace";

fn run_row<R: Col>(r: &R) -> Result<RunRow, StoreError>
where
    R::Database: Dialect,
{
    Ok(RunRow {
        id: r.col("id")?,
        plan_name: r.col("plan_name")?,
        plan_digest: r.col("plan_digest")?,
        plan_path: r.col("plan_path")?,
        plan_source: r.col("plan_source")?,
        scenario: r.col("scenario")?,
        seed: parse_seed(r.col("seed")?)?,
        state: r.col("state")?,
        created_at: r.col("created_at")?,
        updated_at: r.col("updated_at")?,
        operator: r.col("operator")?,
        kube_context: r.col("kube_context")?,
        kube_namespace: r.col("kube_namespace")?,
    })
}

pub(super) async fn run<DB: Dialect>(
    db: &Db<'_, DB>,
    id: &str,
) -> Result<Option<RunRow>, StoreError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1");
    let row = db
        .fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)).arg(id))
        .await?;
    row.as_ref().map(run_row).transpose()
}

pub(super) async fn runs<DB: Dialect>(db: &Db<'_, DB>) -> Result<Vec<RunRow>, StoreError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at DESC, id DESC");
    let rows = db.fetch_all(sqlx::query(sqlx::AssertSqlSafe(sql))).await?;
    rows.iter().map(run_row).collect()
}

pub(super) async fn set_run_state<DB: Dialect>(
    db: &Db<'_, DB>,
    id: &str,
    state: &str,
    at: i64,
) -> Result<(), StoreError> {
    let mut conn = db.conn().await?;
    let mut w = db.begin_announced(&mut conn).await?;
    let q = sqlx::query("UPDATE runs SET state = $2, updated_at = $3 WHERE id = $1")
        .arg(id)
        .arg(state)
        .arg(at);
    if db.execute_on(&mut w, q).await? == 0 {
        return Err(StoreError::NoSuchRun(id.to_string()));
    }
    db.finish(w, Some(id)).await?;
    Ok(())
}

pub(super) async fn append<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
    e: &JournalEntry,
) -> Result<i64, StoreError> {
    let mut conn = db.conn().await?;
    let result = append_on(db, &mut conn, run_id, e).await;
    discard_on_error(&mut conn, &result);
    result
}

async fn append_on<DB: Dialect>(
    db: &Db<'_, DB>,
    conn: &mut DB::Connection,
    run_id: &str,
    e: &JournalEntry,
) -> Result<i64, StoreError> {
    // The run's row is locked until commit (SQLite: the write lock BEGIN IMMEDIATE took;
    // PostgreSQL: FOR UPDATE in next_seq): appends to one run queue on it, so max(seq) + 1
    // is read by one writer at a time.
    let mut tx = db.begin_write(conn, Lock::Rows).await?;
    let seq = next_seq(db, &mut tx, run_id, e).await?;
    let q = sqlx::query(
        "INSERT INTO journal (run_id, seq, at, kind, step_id, idempotency_key, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .arg(run_id)
    .arg(seq)
    .arg(e.at)
    .arg(e.kind.as_str())
    .arg(e.step_id.as_deref())
    .arg(e.idempotency_key.as_deref())
    .arg(Json(&e.data));
    match db.execute_on(&mut tx, q).await {
        Ok(_) => {}
        // Only a key journaled outside this lock (none today) can land here.
        Err(err) if DB::is_unique_violation(&err, JOURNAL_IDEMPOTENCY) => {
            return Err(StoreError::Duplicate {
                run_id: run_id.to_string(),
                kind: e.kind.clone(),
                key: e.idempotency_key.clone().unwrap_or_default(),
            });
        }
        Err(err) => return Err(err.into()),
    }
    db.announce_on(&mut tx, run_id).await?;
    db.commit(tx).await?;
    Ok(seq)
}

/// Inside the write transaction: the run exists, the key is new, and the next seq.
async fn next_seq<DB: Dialect>(
    db: &Db<'_, DB>,
    conn: &mut DB::Connection,
    run_id: &str,
    e: &JournalEntry,
) -> Result<i64, StoreError> {
    let sql = format!("SELECT 1 AS one FROM runs WHERE id = $1{}", DB::FOR_UPDATE);
    let exists = db
        .fetch_optional_on(conn, sqlx::query(sqlx::AssertSqlSafe(sql)).arg(run_id))
        .await?;
    if exists.is_none() {
        return Err(StoreError::NoSuchRun(run_id.to_string()));
    }
    if let Some(key) = &e.idempotency_key {
        let q = sqlx::query(
            "SELECT seq FROM journal WHERE run_id = $1 AND idempotency_key = $2 AND kind = $3",
        )
        .arg(run_id)
        .arg(key.as_str())
        .arg(e.kind.as_str());
        if db.fetch_optional_on(conn, q).await?.is_some() {
            return Err(StoreError::Duplicate {
                run_id: run_id.to_string(),
                kind: e.kind.clone(),
                key: key.clone(),
            });
        }
    }
    let q = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM journal WHERE run_id = $1")
        .arg(run_id);
    let row = db.fetch_one_on(conn, q).await?;
    Ok(row.col("seq")?)
}

pub(super) async fn journal<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
) -> Result<Vec<JournalRecord>, StoreError> {
    let q = sqlx::query(
        "SELECT seq, at, kind, step_id, idempotency_key, data FROM journal
         WHERE run_id = $1 ORDER BY seq",
    )
    .arg(run_id);
    let rows = db.fetch_all(q).await?;
    rows.iter()
        .map(|r| {
            let Json(data) = r.col::<Json<serde_json::Value>>("data")?;
            Ok(JournalRecord {
                seq: r.col("seq")?,
                kind: r.col("kind")?,
                step_id: r.col("step_id")?,
                idempotency_key: r.col("idempotency_key")?,
                data,
                at: r.col("at")?,
            })
        })
        .collect()
}

pub(super) async fn acquire_lease<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
    holder: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<LeaseOutcome, StoreError> {
    let mut conn = db.conn().await?;
    for _ in 0..lease::ATTEMPTS {
        let mut w = db.begin_announced(&mut conn).await?;
        let q = sqlx::query(lease::ACQUIRE)
            .arg(run_id)
            .arg(holder)
            .arg(now)
            .arg(now.saturating_add(ttl_ms));
        let got = db.fetch_optional_on(&mut w, q).await?;
        // A renewal by the holder keeps its acquired_at and changes no one's view.
        let changed_hands = match &got {
            Some(row) => row.col::<i64>("acquired_at")? == now,
            None => false,
        };
        db.finish(w, changed_hands.then_some(run_id)).await?;
        if got.is_some() {
            return Ok(LeaseOutcome::Acquired);
        }
        let held = db
            .fetch_optional_on(&mut conn, sqlx::query(lease::HOLDER).arg(run_id))
            .await?;
        if let Some(row) = held {
            return Ok(LeaseOutcome::HeldBy {
                holder: row.col("holder")?,
                expires_at: row.col("expires_at")?,
            });
        }
        // Released between the two statements: try again.
    }
    Err(StoreError::LeaseChurn(run_id.to_string()))
}

/// Not announced: renewals come every few seconds and change nothing a console shows
/// but the expiry.
pub(super) async fn renew_lease<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
    holder: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<bool, StoreError> {
    let q = sqlx::query(lease::RENEW)
        .arg(run_id)
        .arg(holder)
        .arg(now.saturating_add(ttl_ms));
    Ok(db.execute(q).await? == 1)
}

pub(super) async fn release_lease<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
    holder: &str,
) -> Result<(), StoreError> {
    let mut conn = db.conn().await?;
    let mut w = db.begin_announced(&mut conn).await?;
    let released = db
        .execute_on(&mut w, sqlx::query(lease::RELEASE).arg(run_id).arg(holder))
        .await?;
    db.finish(w, (released > 0).then_some(run_id)).await?;
    Ok(())
}

/// Who holds the run's lease (expired or not), if anyone.
pub(super) async fn lease<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
) -> Result<Option<LeaseRow>, StoreError> {
    let q = sqlx::query("SELECT holder, acquired_at, expires_at FROM leases WHERE run_id = $1")
        .arg(run_id);
    let Some(row) = db.fetch_optional(q).await? else {
        return Ok(None);
    };
    Ok(Some(LeaseRow {
        holder: row.col("holder")?,
        acquired_at: row.col("acquired_at")?,
        expires_at: row.col("expires_at")?,
    }))
}
