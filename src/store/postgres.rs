//! The PostgreSQL backend, for a team sharing runs: `synchronous_commit` and `fsync` read
//! back at open; appends to one run serialize on its row (`SELECT … FOR UPDATE`).

use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};

use super::{
    Durability, INITIAL_STATE, JournalEntry, JournalRecord, LeaseOutcome, NewRun, RunRow,
    StoreError, is_unique_violation, lease, parse_seed,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/postgres");

/// How long opening the store may take to reach its server: a refused or silent port is
/// reported in seconds, not after the pool's retries.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub(super) async fn open(spec: &str) -> Result<(PgPool, Durability), StoreError> {
    use sqlx::Connection;
    let open_err = |source| StoreError::Open {
        spec: redact(spec),
        source,
    };
    // TLS (sslmode, sslrootcert, client certificates, PGSSL*) and application_name as
    // for every PostgreSQL connection ebb makes.
    let options = crate::pg_options::from_url(spec).map_err(open_err)?;
    // One plain attempt first: its error is the real one (refused, auth, no database).
    let first = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| {
            open_err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
            )))
        })?
        .map_err(open_err)?;
    let _ = first.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .map_err(open_err)?;
    let durability = read_back(&pool).await?;
    MIGRATOR.run(&pool).await?;
    Ok((pool, durability))
}

/// `postgres://host:port/dbname`: no user, no password, no parameters.
pub(super) fn identity(spec: &str) -> String {
    use std::str::FromStr;
    match sqlx::postgres::PgConnectOptions::from_str(spec) {
        Ok(o) => format!(
            "postgres://{}:{}/{}",
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or(o.get_username())
        ),
        Err(_) => redact(spec),
    }
}

/// The URL without its password, for messages.
fn redact(spec: &str) -> String {
    match (spec.find("://"), spec.rfind('@')) {
        (Some(s), Some(at)) if at > s => match spec[s + 3..at].find(':') {
            Some(colon) => format!("{}:***{}", &spec[..s + 3 + colon], &spec[at..]),
            None => spec.to_string(),
        },
        _ => spec.to_string(),
    }
}

/// A commit must reach this server's disk before it returns: `synchronous_commit` may be
/// anything but `off` (`local`, `on`, `remote_write`, `remote_apply`), and `fsync` on.
async fn read_back(pool: &PgPool) -> Result<Durability, StoreError> {
    let synchronous: String = sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
        .fetch_one(pool)
        .await?;
    let fsync: String = sqlx::query_scalar("SELECT current_setting('fsync')")
        .fetch_one(pool)
        .await?;
    if synchronous == "off" {
        return Err(StoreError::NotDurable {
            setting: "synchronous_commit",
            found: synchronous,
            expected: "on",
        });
    }
    if fsync != "on" {
        return Err(StoreError::NotDurable {
            setting: "fsync",
            found: fsync,
            expected: "on",
        });
    }
    Ok(Durability {
        backend: "postgres",
        journal_mode: "wal".to_string(),
        synchronous,
    })
}

pub(super) async fn create_run(pool: &PgPool, run: &NewRun) -> Result<(), StoreError> {
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
        Err(e) if is_unique_violation(&e, "runs_pkey", "runs_pkey") => {
            Err(StoreError::RunExists(run.id.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

const RUN_COLUMNS: &str = "id, plan_name, plan_digest, plan_path, plan_source, scenario, seed, \
                           state, created_at, updated_at, operator";

fn run_row(r: &PgRow) -> Result<RunRow, StoreError> {
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

pub(super) async fn run(pool: &PgPool, id: &str) -> Result<Option<RunRow>, StoreError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(run_row).transpose()
}

pub(super) async fn runs(pool: &PgPool) -> Result<Vec<RunRow>, StoreError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at DESC, id DESC");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?;
    rows.iter().map(run_row).collect()
}

pub(super) async fn set_run_state(
    pool: &PgPool,
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
    pool: &PgPool,
    run_id: &str,
    e: &JournalEntry,
) -> Result<i64, StoreError> {
    let mut conn = pool.acquire().await?;
    let result = append_on(&mut conn, run_id, e).await;
    super::discard_on_error(&mut conn, &result);
    result
}

async fn append_on(
    conn: &mut PgConnection,
    run_id: &str,
    e: &JournalEntry,
) -> Result<i64, StoreError> {
    use sqlx::Connection;
    // The run's row is locked (FOR UPDATE in next_seq) until commit: appends to one run
    // queue on it, so max(seq) + 1 is read by one writer at a time.
    let mut tx = conn.begin().await?;
    let seq = next_seq(&mut tx, run_id, e).await?;
    let inserted = sqlx::query(
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
    .await;
    match inserted {
        Ok(_) => {}
        // Only a key journaled outside this lock (none today) can land here.
        Err(err) if is_unique_violation(&err, "journal_idempotency", "journal_idempotency") => {
            return Err(StoreError::Duplicate {
                run_id: run_id.to_string(),
                kind: e.kind.clone(),
                key: e.idempotency_key.clone().unwrap_or_default(),
            });
        }
        Err(err) => return Err(err.into()),
    }
    tx.commit().await?;
    Ok(seq)
}

/// Inside the write transaction: the run exists, the key is new, and the next seq.
async fn next_seq(
    conn: &mut PgConnection,
    run_id: &str,
    e: &JournalEntry,
) -> Result<i64, StoreError> {
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM runs WHERE id = $1 FOR UPDATE")
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

pub(super) async fn journal(pool: &PgPool, run_id: &str) -> Result<Vec<JournalRecord>, StoreError> {
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
    pool: &PgPool,
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
    pool: &PgPool,
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
    pool: &PgPool,
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

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
