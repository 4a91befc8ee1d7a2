//! Console recordings in the store: compressed chunks of a console's entries, appended as
//! the console runs, listed per run (one line per console) and read back in order.

use serde::Serialize;

use super::db::Db;
use super::dialect::{Args, Col, Dialect};
use super::{Store, StoreError};

/// One chunk of a console's recording, to append.
#[derive(Clone, Debug, PartialEq)]
pub struct NewChunk {
    pub run_id: String,
    /// The console's id (its audit session).
    pub console: String,
    /// 0 for a console's first chunk, then one more each.
    pub seq: i64,
    /// The unix user at the console.
    pub operator: String,
    /// Times of the chunk's first and last entries (ms since the epoch).
    pub first_ms: i64,
    pub last_ms: i64,
    pub entries: i64,
    /// Compressed entries (`crate::replay` says how).
    pub body: Vec<u8>,
}

/// A stored chunk, as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkRow {
    pub seq: i64,
    pub first_ms: i64,
    pub last_ms: i64,
    pub entries: i64,
    pub body: Vec<u8>,
}

/// One console that recorded on a run: who, when, how much.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordedConsole {
    pub console: String,
    pub operator: String,
    /// Its first and last entries' times (ms since the epoch).
    pub first_ms: i64,
    pub last_ms: i64,
    pub entries: i64,
    pub chunks: i64,
    /// Compressed bytes stored.
    pub bytes: i64,
}

impl Store {
    /// Appends one chunk of a console's recording.
    pub async fn append_recording(&self, c: &NewChunk) -> Result<(), StoreError> {
        dispatch!(self, append_recording(c))
    }

    /// The consoles that recorded on `run_id`, the first to start first.
    pub async fn recorded_consoles(
        &self,
        run_id: &str,
    ) -> Result<Vec<RecordedConsole>, StoreError> {
        dispatch!(self, recorded_consoles(run_id))
    }

    /// A console's chunks on `run_id`, in order.
    pub async fn recording(
        &self,
        run_id: &str,
        console: &str,
    ) -> Result<Vec<ChunkRow>, StoreError> {
        dispatch!(self, recording(run_id, console))
    }
}

async fn append_recording<DB: Dialect>(db: &Db<'_, DB>, c: &NewChunk) -> Result<(), StoreError> {
    let q = sqlx::query(
        "INSERT INTO recordings
           (run_id, console, seq, operator, first_ms, last_ms, entries, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .arg(c.run_id.as_str())
    .arg(c.console.as_str())
    .arg(c.seq)
    .arg(c.operator.as_str())
    .arg(c.first_ms)
    .arg(c.last_ms)
    .arg(c.entries)
    .arg(c.body.clone());
    db.execute(q).await?;
    Ok(())
}

async fn recorded_consoles<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
) -> Result<Vec<RecordedConsole>, StoreError> {
    let q = sqlx::query(
        "SELECT console, MIN(operator) AS operator, MIN(first_ms) AS first_ms,
                MAX(last_ms) AS last_ms, CAST(SUM(entries) AS BIGINT) AS entries,
                COUNT(*) AS chunks, CAST(SUM(LENGTH(body)) AS BIGINT) AS bytes
         FROM recordings WHERE run_id = $1
         GROUP BY console ORDER BY MIN(first_ms), console",
    )
    .arg(run_id);
    let rows = db.fetch_all(q).await?;
    rows.iter()
        .map(|r| {
            Ok(RecordedConsole {
                console: r.col("console")?,
                operator: r.col("operator")?,
                first_ms: r.col("first_ms")?,
                last_ms: r.col("last_ms")?,
                entries: r.col("entries")?,
                chunks: r.col("chunks")?,
                bytes: r.col("bytes")?,
            })
        })
        .collect()
}

async fn recording<DB: Dialect>(
    db: &Db<'_, DB>,
    run_id: &str,
    console: &str,
) -> Result<Vec<ChunkRow>, StoreError> {
    let q = sqlx::query(
        "SELECT seq, first_ms, last_ms, entries, body FROM recordings
         WHERE run_id = $1 AND console = $2 ORDER BY seq",
    )
    .arg(run_id)
    .arg(console);
    let rows = db.fetch_all(q).await?;
    rows.iter()
        .map(|r| {
            Ok(ChunkRow {
                seq: r.col("seq")?,
                first_ms: r.col("first_ms")?,
                last_ms: r.col("last_ms")?,
                entries: r.col("entries")?,
                body: r.col("body")?,
            })
        })
        .collect()
}
