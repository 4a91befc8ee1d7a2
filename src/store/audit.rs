//! The audit log's rows: an append that reads the chain head and inserts in one write
//! transaction (so consoles sharing a store serialize on the head), and ordered reads.

use super::bus::{NewRequest, insert_request};
use super::db::Db;
use super::dialect::{Args, Col, Dialect, Lock, Q};
use super::{Store, StoreError, discard_on_error};

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
        Ok(self
            .audit_append_with_request(build, None)
            .await?
            .map(|(rows, _)| rows))
    }

    /// Like [`Store::audit_append`], and in the same transaction inserts `request` (when
    /// Some) with `audit_seq` the seq of the last row `build` returned (of the head when it
    /// returned none: 0 on an empty log); returns the rows and the request's id. Either
    /// both commit or neither.
    pub async fn audit_append_with_request<F, E>(
        &self,
        build: F,
        request: Option<&NewRequest>,
    ) -> Result<Result<(Vec<AuditRow>, Option<i64>), E>, StoreError>
    where
        F: FnOnce(Option<AuditHead>) -> Result<Vec<AuditRow>, E>,
    {
        dispatch!(self, append(build, request))
    }

    /// The newest row's seq and hash, if any.
    pub async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        dispatch!(self, head())
    }

    /// Rows matching `q`, in seq order.
    pub async fn audit_rows(&self, q: AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        dispatch!(self, rows(q))
    }
}

type Appended<E> = Result<Result<(Vec<AuditRow>, Option<i64>), E>, StoreError>;

async fn append<DB: Dialect, F, E>(
    db: &Db<'_, DB>,
    build: F,
    request: Option<&NewRequest>,
) -> Appended<E>
where
    F: FnOnce(Option<AuditHead>) -> Result<Vec<AuditRow>, E>,
{
    let mut conn = db.conn().await?;
    let result = append_on(db, &mut conn, build, request).await;
    discard_on_error(&mut conn, &result);
    result
}

async fn append_on<DB: Dialect, F, E>(
    db: &Db<'_, DB>,
    conn: &mut DB::Connection,
    build: F,
    request: Option<&NewRequest>,
) -> Appended<E>
where
    F: FnOnce(Option<AuditHead>) -> Result<Vec<AuditRow>, E>,
{
    // SQLite: IMMEDIATE takes the write lock before the head is read. PostgreSQL: a
    // transaction-scoped advisory lock, taken before the head is read, held to commit.
    let mut tx = db.begin_write(conn, Lock::Audit).await?;
    let head = db.fetch_optional_on(&mut tx, sqlx::query(HEAD)).await?;
    let head = head.as_ref().map(to_head).transpose()?;
    let head_seq = head.as_ref().map_or(0, |h| h.seq);
    let rows = match build(head) {
        Ok(rows) => rows,
        Err(e) => {
            db.abandon(tx);
            return Ok(Err(e));
        }
    };
    for r in &rows {
        db.execute_on(&mut tx, insert(r)).await?;
    }
    let id = match request {
        Some(req) => {
            let audit_seq = rows.last().map_or(head_seq, |r| r.seq);
            let audit_seq = i64::try_from(audit_seq).unwrap_or(i64::MAX);
            let row = db
                .fetch_one_on(&mut tx, insert_request(req, audit_seq))
                .await?;
            db.announce_on(&mut tx, &req.run_id).await?;
            Some(row.col::<i64>("id")?)
        }
        None => None,
    };
    db.commit(tx).await?;
    Ok(Ok((rows, id)))
}

const HEAD: &str = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";

async fn head<DB: Dialect>(db: &Db<'_, DB>) -> Result<Option<AuditHead>, StoreError> {
    let row = db.fetch_optional(sqlx::query(HEAD)).await?;
    Ok(row.as_ref().map(to_head).transpose()?)
}

async fn rows<DB: Dialect>(db: &Db<'_, DB>, q: AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
    let after = i64::try_from(q.after_seq).unwrap_or(i64::MAX);
    let limit = q
        .limit
        .map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let q = sqlx::query(
        "SELECT seq, at_ns, session, kind, record, prev_hash, hash FROM audit
         WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .arg(after)
    .arg(limit);
    let rows = db.fetch_all(q).await?;
    let rows = rows
        .iter()
        .map(|r| {
            Ok(AuditRow {
                seq: r.col::<i64>("seq")? as u64,
                at_ns: r.col("at_ns")?,
                session: r.col("session")?,
                kind: r.col("kind")?,
                record: r.col("record")?,
                prev_hash: r.col("prev_hash")?,
                hash: r.col("hash")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(rows)
}

/// The INSERT of one row, bound.
fn insert<DB: Dialect>(r: &AuditRow) -> Q<DB> {
    sqlx::query(
        "INSERT INTO audit (seq, at_ns, session, kind, record, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .arg(r.seq as i64)
    .arg(r.at_ns)
    .arg(r.session.as_str())
    .arg(r.kind.as_str())
    .arg(r.record.as_str())
    .arg(r.prev_hash.as_str())
    .arg(r.hash.as_str())
}

fn to_head<R: Col>(r: &R) -> Result<AuditHead, sqlx::Error>
where
    R::Database: Dialect,
{
    Ok(AuditHead {
        seq: r.col::<i64>("seq")? as u64,
        hash: r.col("hash")?,
    })
}
