//! The run bus: consoles and a runner process talk through the store, with requests (each
//! inserted with its audit intent), a run's event stream and view, console attachments.

use serde::Serialize;
use sqlx::types::Json;

use super::changes::Changes;
use super::db::Db;
use super::dialect::{Args, Col, Dialect, Lock, Q};
use super::{Backend, Store, StoreError, runs};

/// A request for the runner, inserted with the audit intent that asked for it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRequest {
    pub run_id: String,
    pub console: String,
    pub operator: String,
    pub action: String,
    pub body: serde_json::Value,
    /// Milliseconds since the Unix epoch; becomes `created_at`.
    pub at: i64,
}

/// A request as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestRow {
    pub id: i64,
    pub run_id: String,
    pub console: String,
    pub operator: String,
    pub action: String,
    pub body: serde_json::Value,
    /// The seq of the audit record (the intent) inserted with it.
    pub audit_seq: i64,
    pub created_at: i64,
    /// `"pending"`, `"applied"` or `"refused"`.
    pub state: String,
    pub outcome: Option<String>,
    pub decided_at: Option<i64>,
}

/// One event of a run's stream; `seq` counts 1, 2, … per run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunEventRow {
    pub seq: i64,
    pub at: i64,
    pub body: serde_json::Value,
}

/// A run's view (one per run); `version` grows by one with each put.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunViewRow {
    pub version: i64,
    pub at: i64,
    pub body: serde_json::Value,
}

/// A console attached to a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsoleRow {
    pub id: String,
    pub run_id: String,
    pub operator: String,
    pub host: String,
    pub pid: i64,
    /// `"driver"`, `"watcher"` or `"facilitator"`.
    pub role: String,
    pub attached_at: i64,
    /// The last heartbeat ([`Store::console_seen`]).
    pub seen_at: i64,
    pub detached_at: Option<i64>,
    /// How it detached: `"detached"`, `"lost: …"`, `"gone"`.
    pub how: Option<String>,
}

/// Who holds a run's lease, until when (ms since the Unix epoch).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LeaseRow {
    pub holder: String,
    pub acquired_at: i64,
    pub expires_at: i64,
}

impl Store {
    /// Pending requests of a run with id > `after_id`, oldest first.
    pub async fn pending_requests(
        &self,
        run_id: &str,
        after_id: i64,
    ) -> Result<Vec<RequestRow>, StoreError> {
        dispatch!(self, pending_requests(run_id, after_id))
    }

    /// Marks a pending request applied/refused with its outcome text. A request that is
    /// not pending any more is left as it is (returns false).
    pub async fn decide_request(
        &self,
        id: i64,
        state: &str,
        outcome: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, decide_request(id, state, outcome, at))
    }

    /// A console's decided requests on a run with id > `after_id`, oldest first.
    pub async fn decided_requests(
        &self,
        run_id: &str,
        console: &str,
        after_id: i64,
    ) -> Result<Vec<RequestRow>, StoreError> {
        dispatch!(self, decided_requests(run_id, console, after_id))
    }

    /// Appends an event to the run's event stream; returns its seq (1, 2, …, per run).
    pub async fn push_run_event(
        &self,
        run_id: &str,
        at: i64,
        body: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        dispatch!(self, push_run_event(run_id, at, body))
    }

    /// Events with seq > `after_seq`, oldest first, at most `limit`.
    pub async fn run_events(
        &self,
        run_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<RunEventRow>, StoreError> {
        dispatch!(self, run_events(run_id, after_seq, limit))
    }

    /// The newest seq of the run's events (0 when none).
    pub async fn last_run_event(&self, run_id: &str) -> Result<i64, StoreError> {
        dispatch!(self, last_run_event(run_id))
    }

    /// Replaces the run's view (one row per run); its version increments; returns it.
    pub async fn put_run_view(
        &self,
        run_id: &str,
        at: i64,
        body: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        dispatch!(self, put_run_view(run_id, at, body))
    }

    /// The run's view if its version is greater than `newer_than`.
    pub async fn run_view(
        &self,
        run_id: &str,
        newer_than: i64,
    ) -> Result<Option<RunViewRow>, StoreError> {
        dispatch!(self, run_view(run_id, newer_than))
    }

    /// Inserts (or replaces, same id) a console attachment row.
    pub async fn attach_console(&self, row: &ConsoleRow) -> Result<(), StoreError> {
        dispatch!(self, attach_console(row))
    }

    /// Sets seen_at (heartbeat). False when the row is gone or detached. Not announced on
    /// the change feed: heartbeats would wake every watcher every few seconds.
    pub async fn console_seen(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        dispatch!(self, console_seen(id, at))
    }

    /// Sets detached_at and how (`"detached"`, `"lost: …"`, `"gone"`). A console already
    /// detached keeps its first detachment.
    pub async fn detach_console(&self, id: &str, at: i64, how: &str) -> Result<(), StoreError> {
        dispatch!(self, detach_console(id, at, how))
    }

    /// A run's consoles that are not detached, oldest first (run_id None: all runs').
    pub async fn consoles(&self, run_id: Option<&str>) -> Result<Vec<ConsoleRow>, StoreError> {
        dispatch!(self, consoles(run_id))
    }

    /// Who holds the run's lease, if anyone (an expired lease still names its last
    /// holder: compare `expires_at` with the time).
    pub async fn lease(&self, run_id: &str) -> Result<Option<LeaseRow>, StoreError> {
        dispatch!(self, runs::lease(run_id))
    }

    /// A feed of "something in the store may have changed" (see [`Changes`]).
    pub async fn changes(&self) -> Result<Changes, StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => Changes::sqlite(pool, self.sent.clone()).await,
            Backend::Postgres(pool) => Changes::postgres(pool, self.sent.clone()).await,
        }
    }
}

/// The INSERT of a request, returning its id ($1…$7 as `NewRequest`, then the audit seq).
pub(super) fn insert_request<DB: Dialect>(r: &NewRequest, audit_seq: i64) -> Q<DB> {
    sqlx::query(
        "INSERT INTO requests (run_id, console, operator, action, body, audit_seq, created_at,
                               state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')
         RETURNING id",
    )
    .arg(r.run_id.as_str())
    .arg(r.console.as_str())
    .arg(r.operator.as_str())
    .arg(r.action.as_str())
    .arg(Json(&r.body))
    .arg(audit_seq)
    .arg(r.at)
}

const REQUEST_COLUMNS: &str = "id, run_id, console, operator, action, body, audit_seq, \
                               created_at, state, outcome, decided_at";

fn request_row<R: Col>(r: &R) -> Result<RequestRow, sqlx::Error>
where
    R::Database: Dialect,
{
    let Json(body) = r.col::<Json<serde_json::Value>>("body")?;
    Ok(RequestRow {
        id: r.col("id")?,
        run_id: r.col("run_id")?,
        console: r.col("console")?,
        operator: r.col("operator")?,
        action: r.col("action")?,
        body,
        audit_seq: r.col("audit_seq")?,
        created_at: r.col("created_at")?,
        state: r.col("state")?,
        outcome: r.col("outcome")?,
        decided_at: r.col("decided_at")?,
    })
}

async fn pending_requests<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
    after_id: i64,
) -> Result<Vec<RequestRow>, StoreError> {
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests
         WHERE run_id = $1 AND state = 'pending' AND id > $2 ORDER BY id"
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .arg(run_id)
        .arg(after_id);
    let rows = db.fetch_all(q).await?;
    Ok(rows.iter().map(request_row).collect::<Result<_, _>>()?)
}

async fn decide_request<DB: Dialect>(
    db: &Db<'_, DB>,
    id: i64,
    state: &str,
    outcome: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let mut conn = db.conn().await?;
    let mut w = db.begin_announced(&mut conn).await?;
    let q = sqlx::query(
        "UPDATE requests SET state = $2, outcome = $3, decided_at = $4
         WHERE id = $1 AND state = 'pending'
         RETURNING run_id",
    )
    .arg(id)
    .arg(state)
    .arg(outcome)
    .arg(at);
    let decided = db.fetch_optional_on(&mut w, q).await?;
    let run_id = decided
        .as_ref()
        .map(|r| r.col::<String>("run_id"))
        .transpose()?;
    db.finish(w, run_id.as_deref()).await?;
    Ok(run_id.is_some())
}

async fn decided_requests<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
    console: &str,
    after_id: i64,
) -> Result<Vec<RequestRow>, StoreError> {
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests
         WHERE run_id = $1 AND console = $2 AND state <> 'pending' AND id > $3 ORDER BY id"
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .arg(run_id)
        .arg(console)
        .arg(after_id);
    let rows = db.fetch_all(q).await?;
    Ok(rows.iter().map(request_row).collect::<Result<_, _>>()?)
}

async fn push_run_event<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
    at: i64,
    body: &serde_json::Value,
) -> Result<i64, StoreError> {
    let mut conn = db.conn().await?;
    let result = push_run_event_on(db, &mut conn, run_id, at, body).await;
    super::discard_on_error(&mut conn, &result);
    result
}

async fn push_run_event_on<DB: Dialect>(
    db: &Db<'_, DB>,
    conn: &mut DB::Connection,
    run_id: &str,
    at: i64,
    body: &serde_json::Value,
) -> Result<i64, StoreError> {
    // One pusher per run at a time, to commit: seqs are dense and commit in order, so a
    // reader's `after_seq` never skips one committed later.
    let mut tx = db.begin_write(conn, Lock::RunEvents(run_id)).await?;
    let q = sqlx::query(
        "INSERT INTO run_events (run_id, seq, at, body)
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3 FROM run_events WHERE run_id = $1
         RETURNING seq",
    )
    .arg(run_id)
    .arg(at)
    .arg(Json(body));
    let seq: i64 = db.fetch_one_on(&mut tx, q).await?.col("seq")?;
    db.announce_on(&mut tx, run_id).await?;
    db.commit(tx).await?;
    Ok(seq)
}

async fn run_events<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<RunEventRow>, StoreError> {
    let q = sqlx::query(
        "SELECT seq, at, body FROM run_events
         WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .arg(run_id)
    .arg(after_seq)
    .arg(limit.max(0));
    let rows = db.fetch_all(q).await?;
    let events = rows
        .iter()
        .map(|r| {
            let Json(body) = r.col::<Json<serde_json::Value>>("body")?;
            Ok(RunEventRow {
                seq: r.col("seq")?,
                at: r.col("at")?,
                body,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(events)
}

async fn last_run_event<DB: Dialect>(db: &Db<'_, DB>, run_id: &str) -> Result<i64, StoreError> {
    let q = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM run_events WHERE run_id = $1")
        .arg(run_id);
    let mut conn = db.conn().await?;
    Ok(db.fetch_one_on(&mut conn, q).await?.col("seq")?)
}

async fn put_run_view<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
    at: i64,
    body: &serde_json::Value,
) -> Result<i64, StoreError> {
    let mut conn = db.conn().await?;
    let mut w = db.begin_announced(&mut conn).await?;
    // One statement: concurrent puts each get their own version.
    let q = sqlx::query(
        "INSERT INTO run_views (run_id, version, at, body) VALUES ($1, 1, $2, $3)
         ON CONFLICT (run_id) DO UPDATE SET
             version = run_views.version + 1, at = excluded.at, body = excluded.body
         RETURNING version",
    )
    .arg(run_id)
    .arg(at)
    .arg(Json(body));
    let version: i64 = db.fetch_one_on(&mut w, q).await?.col("version")?;
    db.finish(w, Some(run_id)).await?;
    Ok(version)
}

async fn run_view<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
    newer_than: i64,
) -> Result<Option<RunViewRow>, StoreError> {
    let q =
        sqlx::query("SELECT version, at, body FROM run_views WHERE run_id = $1 AND version > $2")
            .arg(run_id)
            .arg(newer_than);
    let Some(r) = db.fetch_optional(q).await? else {
        return Ok(None);
    };
    let Json(body) = r.col::<Json<serde_json::Value>>("body")?;
    Ok(Some(RunViewRow {
        version: r.col("version")?,
        at: r.col("at")?,
        body,
    }))
}

async fn attach_console<DB: Dialect>(db: &Db<'_, DB>, c: &ConsoleRow) -> Result<(), StoreError> {
    let mut conn = db.conn().await?;
    let mut w = db.begin_announced(&mut conn).await?;
    let q = sqlx::query(
        "INSERT INTO consoles (id, run_id, operator, host, pid, role, attached_at, seen_at,
                               detached_at, how)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (id) DO UPDATE SET
             run_id = excluded.run_id, operator = excluded.operator, host = excluded.host,
             pid = excluded.pid, role = excluded.role, attached_at = excluded.attached_at,
             seen_at = excluded.seen_at, detached_at = excluded.detached_at,
             how = excluded.how",
    )
    .arg(c.id.as_str())
    .arg(c.run_id.as_str())
    .arg(c.operator.as_str())
    .arg(c.host.as_str())
    .arg(c.pid)
    .arg(c.role.as_str())
    .arg(c.attached_at)
    .arg(c.seen_at)
    .arg(c.detached_at)
    .arg(c.how.as_deref());
    db.execute_on(&mut w, q).await?;
    db.finish(w, Some(&c.run_id)).await?;
    Ok(())
}

async fn console_seen<DB: Dialect>(db: &Db<'_, DB>, id: &str, at: i64) -> Result<bool, StoreError> {
    let q = sqlx::query("UPDATE consoles SET seen_at = $2 WHERE id = $1 AND detached_at IS NULL")
        .arg(id)
        .arg(at);
    Ok(db.execute(q).await? == 1)
}

async fn detach_console<DB: Dialect>(
    db: &Db<'_, DB>,
    id: &str,
    at: i64,
    how: &str,
) -> Result<(), StoreError> {
    let mut conn = db.conn().await?;
    let mut w = db.begin_announced(&mut conn).await?;
    let q = sqlx::query(
        "UPDATE consoles SET detached_at = $2, how = $3
         WHERE id = $1 AND detached_at IS NULL
         RETURNING run_id",
    )
    .arg(id)
    .arg(at)
    .arg(how);
    let detached = db.fetch_optional_on(&mut w, q).await?;
    let run_id = detached
        .as_ref()
        .map(|r| r.col::<String>("run_id"))
        .transpose()?;
    db.finish(w, run_id.as_deref()).await?;
    Ok(())
}

async fn consoles<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: Option<&str>,
) -> Result<Vec<ConsoleRow>, StoreError> {
    let q = sqlx::query(
        "SELECT id, run_id, operator, host, pid, role, attached_at, seen_at, detached_at, how
         FROM consoles
         WHERE detached_at IS NULL AND ($1 IS NULL OR run_id = $1)
         ORDER BY attached_at, id",
    )
    .arg(run_id);
    let rows = db.fetch_all(q).await?;
    let consoles = rows
        .iter()
        .map(|r| {
            Ok(ConsoleRow {
                id: r.col("id")?,
                run_id: r.col("run_id")?,
                operator: r.col("operator")?,
                host: r.col("host")?,
                pid: r.col("pid")?,
                role: r.col("role")?,
                attached_at: r.col("attached_at")?,
                seen_at: r.col("seen_at")?,
                detached_at: r.col("detached_at")?,
                how: r.col("how")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(consoles)
}
