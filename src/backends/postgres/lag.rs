//! Replication lag as the primary sees it, and the throttle with hysteresis that holds
//! a batched step while a standby is too far behind.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::postgres::PgPool;

use super::describe;

/// One standby's position, from `pg_stat_replication` on the primary.
#[derive(Clone, Debug, PartialEq)]
pub struct StandbyLag {
    /// `application_name/pid`.
    pub name: String,
    pub replay_lsn: String,
    /// `pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)`.
    pub byte_lag: u64,
    /// `replay_lag` in seconds; NULL (None) when idle or while replay is paused.
    pub replay_lag: Option<f64>,
}

/// The streaming standbys of the primary behind `pool`.
pub async fn read_lag(pool: &PgPool) -> Result<Vec<StandbyLag>, String> {
    let rows: Vec<(String, String, f64, Option<f64>)> = sqlx::query_as(
        "SELECT application_name || '/' || pid, replay_lsn::text,
                greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::float8,
                extract(epoch FROM replay_lag)::float8
         FROM pg_stat_replication WHERE replay_lsn IS NOT NULL",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| format!("reading pg_stat_replication: {}", describe(&e)))?;
    Ok(rows
        .into_iter()
        .map(|(name, replay_lsn, bytes, lag)| StandbyLag {
            name,
            replay_lsn,
            byte_lag: bytes as u64,
            replay_lag: lag,
        })
        .collect())
}

/// Writes one tiny WAL record on the primary. A standby reports its replay position
/// when it receives WAL (else only every `wal_receiver_status_interval`), so while a
/// step holds and writes nothing, this keeps the primary's view of replay fresh.
pub async fn heartbeat(pool: &PgPool) -> Result<(), String> {
    sqlx::query(
        "INSERT INTO ebb.heartbeat (id, at) VALUES (1, now())
         ON CONFLICT (id) DO UPDATE SET at = excluded.at",
    )
    .execute(pool)
    .await
    .map(|_| ())
    .map_err(|e| format!("heartbeat: {}", describe(&e)))
}

/// Decides hold or go from successive lag readings, with hysteresis: hold once a
/// standby's lag exceeds the limit, go again only when it is below `resume_fraction`
/// of the limit.
///
/// A standby's time lag is 0 when it has replayed everything (byte lag 0: a stale or
/// NULL `replay_lag` then means idle). Otherwise it is the larger of `replay_lag` and
/// how long its replay position has stood still while WAL was outstanding, as seen by
/// this throttle. The second term is what catches paused or stuck replay, where
/// `replay_lag` stops being updated (it is measured only when replay advances).
#[derive(Debug)]
pub struct LagThrottle {
    max_lag: Option<Duration>,
    max_bytes: Option<u64>,
    resume_fraction: f64,
    /// Per standby: the replay position last seen and since when it has not moved.
    still_since: HashMap<String, (String, Instant)>,
    holding: bool,
}

impl LagThrottle {
    pub fn new(max_lag: Option<Duration>, max_bytes: Option<u64>) -> LagThrottle {
        LagThrottle {
            max_lag,
            max_bytes,
            resume_fraction: 0.8,
            still_since: HashMap::new(),
            holding: false,
        }
    }

    /// Whether there is anything to throttle on.
    pub fn enabled(&self) -> bool {
        self.max_lag.is_some() || self.max_bytes.is_some()
    }

    /// Whether the last assessment was a hold.
    pub fn holding(&self) -> bool {
        self.holding
    }

    /// Feeds a reading taken at `now`; `Some(reason)` means hold.
    pub fn assess(&mut self, standbys: &[StandbyLag], now: Instant) -> Option<String> {
        self.still_since
            .retain(|name, _| standbys.iter().any(|s| &s.name == name));
        let mut worst_lag: Option<(f64, &StandbyLag)> = None;
        let mut worst_bytes: Option<&StandbyLag> = None;
        for s in standbys {
            let entry = self
                .still_since
                .entry(s.name.clone())
                .or_insert_with(|| (s.replay_lsn.clone(), now));
            if entry.0 != s.replay_lsn {
                *entry = (s.replay_lsn.clone(), now);
            }
            let lag = if s.byte_lag == 0 {
                0.0
            } else {
                let still = now.duration_since(entry.1).as_secs_f64();
                s.replay_lag.unwrap_or(0.0).max(still)
            };
            if worst_lag.is_none_or(|(w, _)| lag > w) {
                worst_lag = Some((lag, s));
            }
            if worst_bytes.is_none_or(|w| s.byte_lag > w.byte_lag) {
                worst_bytes = Some(s);
            }
        }
        let f = if self.holding {
            self.resume_fraction
        } else {
            1.0
        };
        let mut reason = None;
        if let (Some(max), Some((lag, s))) = (self.max_lag, worst_lag) {
            let limit = max.as_secs_f64() * f;
            if lag > limit {
                reason = Some(format!(
                    "replica lag {lag:.1}s {} ({}, {} bytes behind)",
                    over(lag > max.as_secs_f64(), &secs(max), &format!("{limit:.1}s")),
                    s.name,
                    s.byte_lag
                ));
            }
        }
        if let (None, Some(max), Some(s)) = (&reason, self.max_bytes, worst_bytes) {
            let limit = max as f64 * f;
            if s.byte_lag as f64 > limit {
                reason = Some(format!(
                    "replica byte lag {} {} ({})",
                    s.byte_lag,
                    over(s.byte_lag > max, &max.to_string(), &format!("{limit:.0}")),
                    s.name
                ));
            }
        }
        self.holding = reason.is_some();
        reason
    }
}

/// "> 2s" above the limit; "(holding until < 1.6s)" between the low mark and the limit.
fn over(above: bool, max: &str, low: &str) -> String {
    if above {
        format!("> {max}")
    } else {
        format!("(holding until < {low})")
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s:.1}s")
    }
}
