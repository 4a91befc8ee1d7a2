//! The audit log's rows: an append that reads the chain head and inserts in one write
//! transaction (so consoles sharing a store serialize on the head), and ordered reads.

use sqlx::Row;

use super::{Backend, Store, StoreError};

/// The PostgreSQL advisory lock key appenders take for the transaction ("ebb.audi").
const PG_AUDIT_LOCK: i64 = 0x6562_622e_6175_6469;

/// The newest row's seq and hash, read inside the append transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

/// One stored audit record: `record` is its JSON; the rest are copies for filtering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: u64,
    pub at_ns: i64,
    pub session: String,
    pub kind: String,
    pub record: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Which rows to read, always in seq order.
#[derive(Clone, Copy, Debug, Default)]
pub struct AuditQuery {
    /// Only rows with a greater seq.
    pub after_seq: u64,
    /// At most this many rows (the first ones).
    pub limit: Option<u64>,
}

impl Store {
    /// In one write transaction: reads the head, calls `build` with it (None when the log
    /// is empty), inserts the rows it returns and commits. An `Err` from `build` rolls back
    /// and comes back as the inner error.
    pub async fn audit_append<F, E>(&self, build: F) -> Result<Result<Vec<AuditRow>, E>, StoreError>
    where
        F: FnOnce(Option<AuditHead>) -> Result<Vec<AuditRow>, E>,
    {
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                let result = append_sqlite(&mut conn, build).await;
                super::discard_on_error(&mut conn, &result);
                result
            }
            Backend::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let result = append_postgres(&mut conn, build).await;
                super::discard_on_error(&mut conn, &result);
                result
            }
        }
    }

    /// The newest row's seq and hash, if any.
    pub async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        const SQL: &str = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
        let head: Option<(i64, String)> = match &self.backend {
            Backend::Sqlite(pool) => sqlx::query_as(SQL).fetch_optional(pool).await?,
            Backend::Postgres(pool) => sqlx::query_as(SQL).fetch_optional(pool).await?,
        };
        Ok(head.map(to_head))
    }

    /// Rows matching `q`, in seq order.
    pub async fn audit_rows(&self, q: AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        const SQL: &str = "SELECT seq, at_ns, session, kind, record, prev_hash, hash FROM audit
                           WHERE seq > $1 ORDER BY seq LIMIT $2";
        let after = i64::try_from(q.after_seq).unwrap_or(i64::MAX);
        let limit = q
            .limit
            .map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        macro_rules! rows {
            ($pool:expr) => {{
                let rows = sqlx::query(SQL)
                    .bind(after)
                    .bind(limit)
                    .fetch_all($pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(AuditRow {
                            seq: r.try_get::<i64, _>("seq")? as u64,
                            at_ns: r.try_get("at_ns")?,
                            session: r.try_get("session")?,
                            kind: r.try_get("kind")?,
                            record: r.try_get("record")?,
                            prev_hash: r.try_get("prev_hash")?,
                            hash: r.try_get("hash")?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?
            }};
        }
        Ok(match &self.backend {
            Backend::Sqlite(pool) => rows!(pool),
            Backend::Postgres(pool) => rows!(pool),
        })
    }
}

type Appended<E> = Result<Result<Vec<AuditRow>, E>, StoreError>;

async fn append_sqlite<F, E>(conn: &mut sqlx::SqliteConnection, build: F) -> Appended<E>
where
    F: FnOnce(Option<AuditHead>) -> Result<Vec<AuditRow>, E>,
{
    use sqlx::Connection;
    // IMMEDIATE takes the write lock before the head is read.
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
    let rows = match build(head.map(to_head)) {
        Ok(rows) => rows,
        Err(e) => return Ok(Err(e)),
    };
    for r in &rows {
        insert(r).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(Ok(rows))
}

async fn append_postgres<F, E>(conn: &mut sqlx::PgConnection, build: F) -> Appended<E>
where
    F: FnOnce(Option<AuditHead>) -> Result<Vec<AuditRow>, E>,
{
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PG_AUDIT_LOCK)
        .execute(&mut *tx)
        .await?;
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
    let rows = match build(head.map(to_head)) {
        Ok(rows) => rows,
        Err(e) => return Ok(Err(e)),
    };
    for r in &rows {
        insert(r).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(Ok(rows))
}

/// The INSERT of one row, bound.
fn insert<DB: sqlx::Database>(
    r: &AuditRow,
) -> sqlx::query::Query<'_, DB, <DB as sqlx::Database>::Arguments>
where
    i64: sqlx::Encode<'static, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(INSERT)
        .bind(r.seq as i64)
        .bind(r.at_ns)
        .bind(r.session.as_str())
        .bind(r.kind.as_str())
        .bind(r.record.as_str())
        .bind(r.prev_hash.as_str())
        .bind(r.hash.as_str())
}

const INSERT: &str = "INSERT INTO audit (seq, at_ns, session, kind, record, prev_hash, hash)
                      VALUES ($1, $2, $3, $4, $5, $6, $7)";

fn to_head((seq, hash): (i64, String)) -> AuditHead {
    AuditHead {
        seq: seq as u64,
        hash,
    }
}
