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
                // IMMEDIATE takes the write lock before the head is read.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let head: Option<(i64, String)> =
                    sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
                        .fetch_optional(&mut *tx)
                        .await?;
                let rows = match build(head.map(to_head)) {
                    Ok(rows) => rows,
                    Err(e) => return Ok(Err(e)),
                };
                for r in &rows {
                    sqlx::query(INSERT)
                        .bind(r.seq as i64)
                        .bind(r.at_ns)
                        .bind(&r.session)
                        .bind(&r.kind)
                        .bind(&r.record)
                        .bind(&r.prev_hash)
                        .bind(&r.hash)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(Ok(rows))
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
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
                    sqlx::query(INSERT)
                        .bind(r.seq as i64)
                        .bind(r.at_ns)
                        .bind(&r.session)
                        .bind(&r.kind)
                        .bind(&r.record)
                        .bind(&r.prev_hash)
                        .bind(&r.hash)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(Ok(rows))
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

const INSERT: &str = "INSERT INTO audit (seq, at_ns, session, kind, record, prev_hash, hash)
                      VALUES ($1, $2, $3, $4, $5, $6, $7)";

fn to_head((seq, hash): (i64, String)) -> AuditHead {
    AuditHead {
        seq: seq as u64,
        hash,
    }
}
