//! The PostgreSQL source: a task per server that connects with a timeout and sends what
//! it sees (replication, slots, database sizes, progress views, schema version) each interval.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::pg_options;
use crate::redact::redact_str;
use crate::sources::{
    MigrationPhase, MigrationSnapshot, MigrationStatus, Observation, Payload, ReplicaState,
    ReplicaStatus, ReplicationSnapshot, SlotStatus, SourceId, StorageSnapshot, VolumeStatus,
};
use crate::text::DisplayText;
use crate::time::Timestamp;
use crate::tls;

/// One PostgreSQL server to watch. `options` are resolved (they may hold a password);
/// they are used to connect and never appear in an observation or a Debug form.
#[derive(Clone)]
pub struct PgTarget {
    pub name: String,
    pub options: PgConnectOptions,
    pub interval: Duration,
    pub timeout: Duration,
}

impl PgTarget {
    /// A target from a `postgres://` URL or a libpq `key=value` string; what the string
    /// leaves out comes from the libpq environment (PGHOST, PGUSER, PGPASSWORD, PGPASSFILE…).
    /// The error never holds the password.
    pub fn from_url(
        name: &str,
        url: &str,
        interval: Duration,
        timeout: Duration,
    ) -> Result<PgTarget, String> {
        let options = pg_options::from_url(url).map_err(|e| {
            format!(
                "bad PostgreSQL URL for {name}: {}",
                redact_str(&e.to_string())
            )
        })?;
        Ok(PgTarget {
            name: name.to_string(),
            options,
            interval,
            timeout,
        })
    }

    /// A target from the libpq environment alone, as `psql` with no arguments would connect:
    /// PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGPASSFILE (or ~/.pgpass), PGSSLMODE…
    pub fn from_env(name: &str, interval: Duration, timeout: Duration) -> PgTarget {
        PgTarget {
            name: name.to_string(),
            options: pg_options::from_env(),
            interval,
            timeout,
        }
    }

    /// `user@host:port/database`, without the password: for messages.
    pub fn describe(&self) -> String {
        let o = &self.options;
        format!(
            "{}@{}:{}/{}",
            o.get_username(),
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or(o.get_username())
        )
    }
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTarget")
            .field("name", &self.name)
            .field("server", &self.describe())
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// How many primary WAL positions are remembered to estimate a replica's time lag when
/// the server has not measured one.
const LSN_HISTORY: usize = 256;

/// What one observation remembers for the next: rates come from deltas.
#[derive(Clone, Debug, Default)]
pub struct PgMemory {
    /// Recent WAL positions (primary: current; standby: received), oldest first.
    lsns: VecDeque<(Timestamp, u64)>,
    /// Database name → (size, when).
    sizes: HashMap<String, (u64, Timestamp)>,
    /// Progress-view operation key → (rows done, when).
    progress: HashMap<String, (u64, Timestamp)>,
}

impl PgMemory {
    pub fn new() -> Self {
        PgMemory::default()
    }

    /// Bytes per second between the previous position and `lsn`; 0 on the first call or
    /// when the position went backwards (another server behind the same name).
    fn wal_rate(&mut self, at: Timestamp, lsn: u64) -> f64 {
        let rate = match self.lsns.back() {
            Some(&(t, prev)) if at > t && lsn >= prev => {
                (lsn - prev) as f64 / t.age_at(at).as_secs_f64()
            }
            _ => 0.0,
        };
        if self.lsns.back().is_some_and(|&(_, prev)| lsn < prev) {
            self.lsns.clear();
        }
        self.lsns.push_back((at, lsn));
        while self.lsns.len() > LSN_HISTORY {
            self.lsns.pop_front();
        }
        rate
    }

    /// A lower bound on how long a replica at `replay` has been behind: since the first
    /// remembered time the primary was already past it (zero when that is this instant).
    fn behind_since(&self, at: Timestamp, replay: u64) -> Duration {
        self.lsns
            .iter()
            .find(|&&(_, lsn)| lsn > replay)
            .map_or(Duration::ZERO, |&(t, _)| t.age_at(at))
    }
}

/// Starts the source task: observes `target` every interval until `tx` is closed.
/// Errors (connect, query, timeout) are sent as `Payload::Error`, and the next tick
/// connects again.
pub fn spawn(target: PgTarget, tx: mpsc::Sender<Observation>) -> JoinHandle<()> {
    tokio::spawn(run(target, tx))
}

async fn run(target: PgTarget, tx: mpsc::Sender<Observation>) {
    let source = SourceId(format!("pg:{}", target.name));
    let interval = target.interval.max(Duration::from_millis(10));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut conn: Option<PgConnection> = None;
    let mut memory = PgMemory::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = tx.closed() => break,
        }
        let result = tick(&target, &mut conn, &mut memory, interval).await;
        let batch = match result {
            Ok(obs) => obs,
            Err(message) => {
                // A failed or timed-out call leaves the session in an unknown state.
                conn = None;
                vec![Observation {
                    source: source.clone(),
                    at: Timestamp::now(),
                    interval,
                    payload: Payload::Error(DisplayText::new(&redact_str(&message))),
                }]
            }
        };
        for obs in batch {
            if tx.send(obs).await.is_err() {
                return;
            }
        }
    }
    if let Some(c) = conn.take() {
        let _ = tokio::time::timeout(target.timeout, c.close()).await;
    }
}

/// One tick: connects when needed, then observes, every remote call under the timeout.
async fn tick(
    target: &PgTarget,
    conn: &mut Option<PgConnection>,
    memory: &mut PgMemory,
    interval: Duration,
) -> Result<Vec<Observation>, String> {
    let timeout = target.timeout;
    if conn.is_none() {
        let fresh = tokio::time::timeout(timeout, connect(&target.options, timeout))
            .await
            .map_err(|_| format!("connect timed out after {}", fmt_secs(timeout)))?
            .map_err(|e| format!("connect: {}", tls::describe_pg(&e)))?;
        *conn = Some(fresh);
    }
    let Some(c) = conn.as_mut() else {
        return Err("not connected".to_string());
    };
    let at = Timestamp::now();
    tokio::time::timeout(timeout, observe(c, &target.name, memory, at, interval))
        .await
        .map_err(|_| format!("query timed out after {}", fmt_secs(timeout)))?
        .map_err(|e| e.to_string())
}

fn fmt_secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Connects with `options` and sets a `statement_timeout` of `timeout` on the session.
async fn connect(
    options: &PgConnectOptions,
    timeout: Duration,
) -> Result<PgConnection, sqlx::Error> {
    // Built by pg_options already; `options` is public, so name the session here too.
    let opts = options
        .clone()
        .application_name(pg_options::APPLICATION_NAME);
    let mut conn = PgConnection::connect_with(&opts).await?;
    let ms = timeout.as_millis().max(1).to_string();
    sqlx::query("SELECT set_config('statement_timeout', $1, false)")
        .bind(ms)
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// Observes one server: on a primary Replication, Storage and Migrations; on a standby
/// Replication with the standby itself as the one replica row.
pub async fn observe(
    conn: &mut PgConnection,
    name: &str,
    prev: &mut PgMemory,
    at: Timestamp,
    interval: Duration,
) -> Result<Vec<Observation>, sqlx::Error> {
    let (in_recovery, version): (bool, i32) =
        sqlx::query_as("SELECT pg_is_in_recovery(), current_setting('server_version_num')::int")
            .fetch_one(&mut *conn)
            .await?;
    let source = SourceId(format!("pg:{name}"));
    let obs = |payload: Payload| Observation {
        source: source.clone(),
        at,
        interval,
        payload,
    };
    if in_recovery {
        let rep = standby_replication(conn, name, prev, at, version).await?;
        return Ok(vec![obs(Payload::Replication(rep))]);
    }
    let rep = primary_replication(conn, name, prev, at).await?;
    let storage = storage(conn, name, prev, at, version).await?;
    let migrations = migrations(conn, prev, at, version).await?;
    Ok(vec![
        obs(Payload::Replication(rep)),
        obs(Payload::Storage(storage)),
        obs(Payload::Migrations(migrations)),
    ])
}

fn bytes(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn secs(v: f64) -> Duration {
    Duration::try_from_secs_f64(v.max(0.0)).unwrap_or(Duration::ZERO)
}

async fn primary_replication(
    conn: &mut PgConnection,
    name: &str,
    prev: &mut PgMemory,
    at: Timestamp,
) -> Result<ReplicationSnapshot, sqlx::Error> {
    let current: i64 =
        sqlx::query_scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")
            .fetch_one(&mut *conn)
            .await?;
    let current = bytes(current);
    let wal_bytes_per_sec = prev.wal_rate(at, current);
    // Base backups also stream from here (state `backup`); they are not replicas.
    let rows: Vec<(String, String, Option<i64>, Option<f64>)> = sqlx::query_as(
        "SELECT coalesce(nullif(application_name, ''), host(client_addr), 'pid ' || pid), \
                coalesce(state, ''), \
                pg_wal_lsn_diff(coalesce(replay_lsn, flush_lsn, write_lsn, sent_lsn), '0/0')::bigint, \
                extract(epoch FROM replay_lag)::float8 \
         FROM pg_stat_replication \
         WHERE state IS DISTINCT FROM 'backup' \
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let replicas = rows
        .into_iter()
        .map(|(replica, state, replay, lag)| {
            let replay = replay.map(bytes);
            let byte_lag = replay.map_or(0, |r| current.saturating_sub(r));
            let state = match state.as_str() {
                "streaming" => ReplicaState::Streaming,
                "catchup" | "startup" => ReplicaState::Catchup,
                _ => ReplicaState::Disconnected,
            };
            let time_lag = match (byte_lag, lag) {
                // Nothing outstanding: idle, whatever lag was last measured.
                (0, _) => None,
                (_, Some(l)) => Some(secs(l)),
                // Behind, but the server has not measured a lag yet (e.g. replay paused
                // since before the writes): estimate from remembered positions.
                (_, None) => Some(prev.behind_since(at, replay.unwrap_or(0))),
            };
            ReplicaStatus {
                name: DisplayText::new(&replica),
                state,
                time_lag,
                byte_lag,
                replay_paused: false,
            }
        })
        .collect();
    Ok(ReplicationSnapshot {
        primary: DisplayText::new(name),
        wal_bytes_per_sec,
        replicas,
    })
}

async fn standby_replication(
    conn: &mut PgConnection,
    name: &str,
    prev: &mut PgMemory,
    at: Timestamp,
    version: i32,
) -> Result<ReplicationSnapshot, sqlx::Error> {
    let paused_sql = if version >= 140_000 {
        "SELECT pg_get_wal_replay_pause_state() <> 'not paused'"
    } else {
        "SELECT pg_is_wal_replay_paused()"
    };
    let replay_paused: bool = sqlx::query_scalar(paused_sql).fetch_one(&mut *conn).await?;
    let (received, byte_lag, lag): (Option<i64>, Option<i64>, Option<f64>) = sqlx::query_as(
        "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::bigint, \
                pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint, \
                extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8",
    )
    .fetch_one(&mut *conn)
    .await?;
    let (status, sender): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT max(status), max(sender_host || ':' || sender_port) FROM pg_stat_wal_receiver",
    )
    .fetch_one(&mut *conn)
    .await?;
    let wal_bytes_per_sec = match received {
        Some(r) => prev.wal_rate(at, bytes(r)),
        None => 0.0,
    };
    let byte_lag = byte_lag.map_or(0, bytes);
    let state = match (replay_paused, status.as_deref()) {
        (true, _) => ReplicaState::Stalled,
        (false, Some("streaming")) => ReplicaState::Streaming,
        (false, Some(_)) => ReplicaState::Catchup,
        (false, None) => ReplicaState::Disconnected,
    };
    // `now() - last replayed commit` is a lag only while something is outstanding; with
    // nothing to replay it is just the time since the primary last wrote.
    let time_lag = (byte_lag > 0).then(|| lag.map_or(Duration::ZERO, secs));
    Ok(ReplicationSnapshot {
        primary: DisplayText::new(sender.as_deref().unwrap_or("(no primary)")),
        wal_bytes_per_sec,
        replicas: vec![ReplicaStatus {
            name: DisplayText::new(name),
            state,
            time_lag,
            byte_lag,
            replay_paused,
        }],
    })
}

async fn storage(
    conn: &mut PgConnection,
    name: &str,
    prev: &mut PgMemory,
    at: Timestamp,
    version: i32,
) -> Result<StorageSnapshot, sqlx::Error> {
    let slots_sql = if version >= 130_000 {
        "SELECT slot_name::text, active, \
                coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint, \
                coalesce(wal_status, '') \
         FROM pg_replication_slots ORDER BY slot_name"
    } else {
        "SELECT slot_name::text, active, \
                coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint, '' \
         FROM pg_replication_slots ORDER BY slot_name"
    };
    let slots: Vec<(String, bool, i64, String)> =
        sqlx::query_as(slots_sql).fetch_all(&mut *conn).await?;
    let slots = slots
        .into_iter()
        .map(|(slot, active, retained, wal_status)| SlotStatus {
            name: DisplayText::new(&slot),
            active,
            retained_bytes: bytes(retained),
            wal_status: DisplayText::new(&wal_status),
        })
        .collect();
    let sizes: Vec<(String, i64)> = sqlx::query_as(
        "SELECT datname::text, pg_database_size(oid) FROM pg_database \
         WHERE datallowconn AND has_database_privilege(oid, 'CONNECT') ORDER BY datname",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut seen = HashMap::new();
    let volumes = sizes
        .into_iter()
        .map(|(db, size)| {
            let used = bytes(size);
            let growth = match prev.sizes.get(&db) {
                Some(&(before, t)) if at > t => {
                    (used as f64 - before as f64) / t.age_at(at).as_secs_f64()
                }
                _ => 0.0,
            };
            seen.insert(db.clone(), (used, at));
            VolumeStatus {
                name: DisplayText::new(&db),
                owner: DisplayText::new(&format!("{name} database")),
                used_bytes: used,
                // PostgreSQL does not report the size of the disk under it.
                capacity_bytes: 0,
                growth_bytes_per_sec: growth,
            }
        })
        .collect();
    prev.sizes = seen;
    Ok(StorageSnapshot {
        volumes,
        slots,
        snapshots: Vec::new(),
    })
}

/// Progress views as (key, label, rows or blocks done, total); PG 13 has all but COPY.
const PROGRESS_13: &str = "\
    SELECT 'index ' || pid, command || ' ' || coalesce(relid::regclass::text, '') || ': ' || phase, \
           coalesce(nullif(tuples_done, 0), blocks_done), coalesce(nullif(tuples_total, 0), blocks_total) \
    FROM pg_stat_progress_create_index \
    UNION ALL \
    SELECT 'cluster ' || pid, command || ' ' || coalesce(relid::regclass::text, '') || ': ' || phase, \
           heap_blks_scanned, heap_blks_total \
    FROM pg_stat_progress_cluster \
    UNION ALL \
    SELECT 'vacuum ' || pid, 'VACUUM ' || coalesce(relid::regclass::text, '') || ': ' || phase, \
           heap_blks_scanned, heap_blks_total \
    FROM pg_stat_progress_vacuum \
    UNION ALL \
    SELECT 'analyze ' || pid, 'ANALYZE ' || coalesce(relid::regclass::text, '') || ': ' || phase, \
           sample_blks_scanned, sample_blks_total \
    FROM pg_stat_progress_analyze \
    UNION ALL \
    SELECT 'basebackup ' || pid, 'BASE BACKUP: ' || phase, \
           backup_streamed, coalesce(backup_total, 0) \
    FROM pg_stat_progress_basebackup";

const PROGRESS_COPY: &str = "\
    UNION ALL \
    SELECT 'copy ' || pid, command || ' ' || type || ' ' || coalesce(relid::regclass::text, ''), \
           tuples_processed, 0 \
    FROM pg_stat_progress_copy";

/// (key, label, done, total) from one progress view.
type ProgressRow = (String, Option<String>, Option<i64>, Option<i64>);

async fn migrations(
    conn: &mut PgConnection,
    prev: &mut PgMemory,
    at: Timestamp,
    version: i32,
) -> Result<MigrationSnapshot, sqlx::Error> {
    let mut migrations = Vec::new();
    if version >= 130_000 {
        let sql = if version >= 140_000 {
            format!("{PROGRESS_13} {PROGRESS_COPY} ORDER BY 1")
        } else {
            format!("{PROGRESS_13} ORDER BY 1")
        };
        let rows: Vec<ProgressRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await?;
        let mut seen = HashMap::new();
        for (key, label, done, total) in rows {
            let done = done.map_or(0, bytes);
            let rows_per_sec = match prev.progress.get(&key) {
                Some(&(before, t)) if at > t && done >= before => {
                    (done - before) as f64 / t.age_at(at).as_secs_f64()
                }
                _ => 0.0,
            };
            seen.insert(key, (done, at));
            migrations.push(MigrationStatus {
                name: DisplayText::new(label.as_deref().unwrap_or("operation")),
                phase: MigrationPhase::Running,
                rows_done: done,
                rows_total: total.map_or(0, bytes),
                rows_per_sec,
                batch_size: 0,
                throttle: None,
                error: None,
            });
        }
        prev.progress = seen;
    }
    let schema_version = schema_version(conn).await?;
    Ok(MigrationSnapshot {
        schema_version: DisplayText::new(&schema_version),
        migrations,
    })
}

/// The latest applied version from the first migration table found (sqlx,
/// golang-migrate or Rails, Flyway), or `none`.
pub(crate) async fn schema_version(conn: &mut PgConnection) -> Result<String, sqlx::Error> {
    let (sqlx_t, schema_t, flyway_t): (bool, bool, bool) = sqlx::query_as(
        "SELECT coalesce(has_table_privilege(to_regclass('_sqlx_migrations'), 'SELECT'), false), \
                coalesce(has_table_privilege(to_regclass('schema_migrations'), 'SELECT'), false), \
                coalesce(has_table_privilege(to_regclass('flyway_schema_history'), 'SELECT'), false)",
    )
    .fetch_one(&mut *conn)
    .await?;
    let sql = if sqlx_t {
        "SELECT max(version)::text FROM _sqlx_migrations WHERE success"
    } else if schema_t {
        // golang-migrate keeps one bigint row; Rails one varchar row per migration.
        "SELECT version::text FROM schema_migrations ORDER BY version DESC LIMIT 1"
    } else if flyway_t {
        "SELECT version FROM flyway_schema_history \
         WHERE success AND version IS NOT NULL ORDER BY installed_rank DESC LIMIT 1"
    } else {
        return Ok("none".to_string());
    };
    let v: Option<Option<String>> = sqlx::query_scalar(sql).fetch_optional(&mut *conn).await?;
    Ok(v.flatten().unwrap_or_else(|| "none".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_rate_comes_from_the_delta_and_restarts_when_the_position_goes_back() {
        let mut m = PgMemory::new();
        assert_eq!(m.wal_rate(Timestamp(0), 1000), 0.0);
        assert_eq!(m.wal_rate(Timestamp(2000), 5000), 2000.0);
        assert_eq!(m.wal_rate(Timestamp(3000), 10), 0.0, "another server");
        assert_eq!(m.lsns.len(), 1);
        assert_eq!(m.wal_rate(Timestamp(4000), 1010), 1000.0);
    }

    #[test]
    fn behind_since_is_the_first_time_the_primary_was_past_the_replica() {
        let mut m = PgMemory::new();
        for (t, lsn) in [(0, 100), (1000, 200), (2000, 300), (3000, 400)] {
            m.wal_rate(Timestamp(t), lsn);
        }
        let at = Timestamp(3500);
        assert_eq!(m.behind_since(at, 150), Duration::from_millis(2500));
        assert_eq!(m.behind_since(at, 300), Duration::from_millis(500));
        assert_eq!(
            m.behind_since(at, 400),
            Duration::ZERO,
            "written since the last look"
        );
    }

    #[test]
    fn the_url_is_not_in_the_debug_form() {
        let t = PgTarget::from_url(
            "db",
            "postgres://u:hunter2@h/db",
            Duration::from_secs(1),
            Duration::from_secs(2),
        )
        .unwrap();
        let debug = format!("{t:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("u@h:5432/db"), "{debug}");
    }
}
