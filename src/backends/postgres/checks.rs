//! Evaluates plan checks against a PostgreSQL server: replication lag, SQL values, row
//! counts and checksums against a baseline captured at run start, and the schema version.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{Postgres, Row, Transaction, TypeInfo};

use super::lag::{StandbyLag, heartbeat, read_lag};
use super::{describe, quote_ident};
use crate::engine::CheckOutcome;
use crate::plan::{Check, CheckKind};
use crate::redact::redact_str;

/// `statement_timeout` of the short queries (catalog reads, `sql` checks).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// `statement_timeout` of the full-table scans (`row_count`, `table_checksum`).
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on one whole `evaluate` call, connecting included.
pub const EVALUATE_TIMEOUT: Duration = Duration::from_secs(40);
/// How long a standby is given to report its replay position after a heartbeat.
const HEARTBEAT_WAIT: Duration = Duration::from_millis(200);
/// Heartbeat rounds before a standby with outstanding WAL and no measured lag fails.
const HEARTBEAT_ROUNDS: u32 = 2;

/// Row counts and checksums of the tables that `row_count` and `table_checksum` checks
/// name, captured at run start; later evaluations compare against it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PgBaseline {
    row_counts: BTreeMap<String, i64>,
    checksums: BTreeMap<String, TableDigest>,
}

/// An order-independent digest of a table: the sum of a 64-bit hash of every row's text
/// form (as text, it is a numeric), and the row count.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct TableDigest {
    sum: String,
    rows: i64,
}

impl PgBaseline {
    /// Reads what the `row_count` and `table_checksum` checks among `checks` name (each
    /// table once) in one read-only transaction; other checks are ignored.
    pub async fn capture<'a>(
        pool: &PgPool,
        checks: impl IntoIterator<Item = &'a Check>,
    ) -> Result<PgBaseline, String> {
        let mut counts = Vec::new();
        let mut sums = Vec::new();
        for c in checks {
            match &c.kind {
                CheckKind::RowCount { table, .. } if !counts.contains(table) => {
                    counts.push(table.clone())
                }
                CheckKind::TableChecksum { table } if !sums.contains(table) => {
                    sums.push(table.clone())
                }
                _ => {}
            }
        }
        let mut baseline = PgBaseline::default();
        if counts.is_empty() && sums.is_empty() {
            return Ok(baseline);
        }
        let work = async {
            let mut tx = begin(pool, SCAN_TIMEOUT).await?;
            for table in &sums {
                let digest = digest(&mut tx, table).await?;
                if counts.contains(table) {
                    baseline.row_counts.insert(table.clone(), digest.rows);
                }
                baseline.checksums.insert(table.clone(), digest);
            }
            for table in counts.iter().filter(|t| !sums.contains(t)) {
                let n = row_count(&mut tx, table).await?;
                baseline.row_counts.insert(table.clone(), n);
            }
            let _ = tx.rollback().await;
            Ok::<_, String>(())
        };
        match tokio::time::timeout(EVALUATE_TIMEOUT, work).await {
            Ok(Ok(())) => Ok(baseline),
            Ok(Err(e)) => Err(redact_str(&format!("capturing the baseline: {e}")).into_owned()),
            Err(_) => Err(format!(
                "capturing the baseline timed out after {}",
                secs(EVALUATE_TIMEOUT)
            )),
        }
    }

    /// The captured row count of `table`.
    pub fn row_count(&self, table: &str) -> Option<i64> {
        self.row_counts.get(table).copied()
    }

    /// Whether a checksum of `table` was captured.
    pub fn has_checksum(&self, table: &str) -> bool {
        self.checksums.contains_key(table)
    }
}

/// Evaluates one check on the server behind `pool` (the check's target). Errors and
/// timeouts are `Inconclusive` with the error (secrets redacted); kinds that are not
/// read from PostgreSQL are `Inconclusive` too.
pub async fn evaluate(pool: &PgPool, check: &CheckKind, baseline: &PgBaseline) -> CheckOutcome {
    if matches!(
        check,
        CheckKind::VolumeUsage { .. } | CheckKind::ErrorRate { .. } | CheckKind::Promql { .. }
    ) {
        return CheckOutcome::Inconclusive(format!("{} is not a PostgreSQL check", check.name()));
    }
    match tokio::time::timeout(EVALUATE_TIMEOUT, evaluate_inner(pool, check, baseline)).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => {
            CheckOutcome::Inconclusive(redact_str(&format!("{}: {e}", check.name())).into_owned())
        }
        Err(_) => CheckOutcome::Inconclusive(format!(
            "{}: timed out after {}",
            check.name(),
            secs(EVALUATE_TIMEOUT)
        )),
    }
}

async fn evaluate_inner(
    pool: &PgPool,
    check: &CheckKind,
    baseline: &PgBaseline,
) -> Result<CheckOutcome, String> {
    match check {
        CheckKind::ReplicationLag { replica, max } => {
            replication_lag(pool, replica.as_deref(), *max).await
        }
        CheckKind::Sql { query, expect } => sql_check(pool, query, expect).await,
        CheckKind::RowCount { table, tolerance } => {
            let Some(base) = baseline.row_count(table) else {
                return Ok(no_baseline("row count", table));
            };
            let mut tx = begin(pool, SCAN_TIMEOUT).await?;
            let now = row_count(&mut tx, table).await?;
            let _ = tx.rollback().await;
            Ok(compare_counts(table, now, base, *tolerance))
        }
        CheckKind::TableChecksum { table } => {
            let Some(base) = baseline.checksums.get(table) else {
                return Ok(no_baseline("checksum", table));
            };
            let mut tx = begin(pool, SCAN_TIMEOUT).await?;
            let now = digest(&mut tx, table).await?;
            let _ = tx.rollback().await;
            Ok(if &now == base {
                CheckOutcome::Pass
            } else {
                CheckOutcome::Fail(format!(
                    "{table} checksum differs from the baseline ({} rows now, {} then)",
                    now.rows, base.rows
                ))
            })
        }
        CheckKind::SchemaVersion { is } => {
            let mut tx = begin(pool, QUERY_TIMEOUT).await?;
            let version = crate::backends::postgres::source::schema_version(&mut tx)
                .await
                .map_err(|e| format!("reading the migration version: {}", describe(&e)))?;
            let _ = tx.rollback().await;
            Ok(compare_versions(&version, is))
        }
        CheckKind::VolumeUsage { .. } | CheckKind::ErrorRate { .. } | CheckKind::Promql { .. } => {
            Ok(CheckOutcome::Inconclusive(format!(
                "{} is not a PostgreSQL check",
                check.name()
            )))
        }
    }
}

fn no_baseline(what: &str, table: &str) -> CheckOutcome {
    CheckOutcome::Inconclusive(format!("no baseline {what} of {table} was captured"))
}

/// A read-only transaction whose statements time out after `timeout` on the server.
async fn begin(pool: &PgPool, timeout: Duration) -> Result<Transaction<'static, Postgres>, String> {
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| format!("connecting: {}", describe(&e)))?;
    sqlx::query(
        "SELECT set_config('statement_timeout', $1, true),
                set_config('transaction_read_only', 'on', true)",
    )
    .bind(format!("{}ms", timeout.as_millis().max(1)))
    .execute(&mut *tx)
    .await
    .map_err(|e| format!("setting statement_timeout: {}", describe(&e)))?;
    Ok(tx)
}

async fn row_count(tx: &mut Transaction<'static, Postgres>, table: &str) -> Result<i64, String> {
    let sql = format!("SELECT count(*) FROM {}", quote_ident(table));
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| format!("counting rows of {table}: {}", describe(&e)))
}

/// One sequential scan: the sum of `hashtextextended` over every row's text form.
async fn digest(
    tx: &mut Transaction<'static, Postgres>,
    table: &str,
) -> Result<TableDigest, String> {
    let sql = format!(
        "SELECT coalesce(sum(hashtextextended(ebb_row::text, 0)), 0)::text, count(*)
         FROM {} AS ebb_row",
        quote_ident(table)
    );
    let (sum, rows): (String, i64) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| format!("checksumming {table}: {}", describe(&e)))?;
    Ok(TableDigest { sum, rows })
}

/// Passes when `now` is within `tolerance` (a ratio of the baseline) of `base`.
fn compare_counts(table: &str, now: i64, base: i64, tolerance: f64) -> CheckOutcome {
    let diff = (now - base).unsigned_abs() as f64;
    if diff <= tolerance * base.unsigned_abs() as f64 {
        return CheckOutcome::Pass;
    }
    let off = if base == 0 {
        String::new()
    } else {
        format!(" ({:+.2}%)", (now - base) as f64 * 100.0 / base as f64)
    };
    CheckOutcome::Fail(format!(
        "{table} has {now} rows, baseline {base}{off}, tolerance {}",
        percent(tolerance)
    ))
}

fn percent(ratio: f64) -> String {
    let p = ratio * 100.0;
    let s = format!("{p:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// Equal strings pass, and so do equal integers written differently (`007` and `7`).
fn compare_versions(version: &str, is: &str) -> CheckOutcome {
    if version == "none" {
        return CheckOutcome::Inconclusive(
            "no applied migration found in _sqlx_migrations, schema_migrations or \
             flyway_schema_history"
                .to_string(),
        );
    }
    let same = version == is.trim()
        || matches!(
            (version.parse::<i128>(), is.trim().parse::<i128>()),
            (Ok(a), Ok(b)) if a == b
        );
    if same {
        CheckOutcome::Pass
    } else {
        CheckOutcome::Fail(format!("schema version is {version}, expected {is}"))
    }
}

/// What a `sql` check's query returned in its first column of its first row.
#[derive(Clone, Debug, PartialEq)]
enum SqlValue {
    NoRows,
    Null,
    /// A numeric column (integer, float, numeric), as PostgreSQL wrote it.
    Number(String),
    Bool(bool),
    /// Any other type, in its text form; `ty` is the type's name.
    Text {
        text: String,
        ty: String,
    },
}

async fn sql_check(
    pool: &PgPool,
    query: &str,
    expect: &toml::Value,
) -> Result<CheckOutcome, String> {
    if !matches!(
        expect,
        toml::Value::Integer(_)
            | toml::Value::Float(_)
            | toml::Value::Boolean(_)
            | toml::Value::String(_)
    ) {
        return Ok(CheckOutcome::Inconclusive(format!(
            "expect must be an integer, float, bool or string, not {}",
            expect.type_str()
        )));
    }
    let mut tx = begin(pool, QUERY_TIMEOUT).await?;
    // The simple query protocol: every value comes back in its text form.
    let row: Option<PgRow> = sqlx::raw_sql(sqlx::AssertSqlSafe(query.to_string()))
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| format!("query failed: {}", describe(&e)))?;
    let _ = tx.rollback().await;
    let value = match row {
        None => SqlValue::NoRows,
        Some(row) if row.columns().is_empty() => SqlValue::NoRows,
        Some(row) => {
            let ty = row
                .try_get_raw(0)
                .map(|v| sqlx::ValueRef::type_info(&v).name().to_string())
                .map_err(|e| format!("reading the result: {e}"))?;
            let text: Option<String> = row
                .try_get_unchecked(0)
                .map_err(|e| format!("reading the result: {e}"))?;
            match text {
                None => SqlValue::Null,
                Some(text) => match ty.as_str() {
                    "INT2" | "INT4" | "INT8" | "OID" | "FLOAT4" | "FLOAT8" | "NUMERIC" => {
                        SqlValue::Number(text)
                    }
                    "BOOL" => SqlValue::Bool(text == "t" || text == "true"),
                    _ => SqlValue::Text {
                        text,
                        ty: ty.to_lowercase(),
                    },
                },
            }
        }
    };
    Ok(compare_sql(&value, expect))
}

/// Numbers compare numerically (exactly when both are integers); a string expectation
/// matches the text form of any value; NULL and no rows never match.
fn compare_sql(value: &SqlValue, expect: &toml::Value) -> CheckOutcome {
    let matches = match (value, expect) {
        (SqlValue::Number(n), toml::Value::Integer(e)) => match n.parse::<i64>() {
            Ok(v) => v == *e,
            Err(_) => n.parse::<f64>().is_ok_and(|v| v == *e as f64),
        },
        (SqlValue::Number(n), toml::Value::Float(e)) => n.parse::<f64>().is_ok_and(|v| v == *e),
        (SqlValue::Bool(b), toml::Value::Boolean(e)) => b == e,
        (SqlValue::Number(n), toml::Value::String(e)) => n == e,
        (SqlValue::Bool(b), toml::Value::String(e)) => {
            e.as_str() == if *b { "true" } else { "false" }
                || e.as_str() == if *b { "t" } else { "f" }
        }
        (SqlValue::Text { text, .. }, toml::Value::String(e)) => text == e,
        _ => false,
    };
    if matches {
        return CheckOutcome::Pass;
    }
    let got = match value {
        SqlValue::NoRows => "no rows".to_string(),
        SqlValue::Null => "NULL".to_string(),
        SqlValue::Number(n) => n.clone(),
        SqlValue::Bool(b) => b.to_string(),
        SqlValue::Text { text, ty } => {
            if matches!(expect, toml::Value::String(_)) {
                format!("{text:?}")
            } else {
                format!("{text:?} ({ty})")
            }
        }
    };
    let want = match expect {
        toml::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    CheckOutcome::Fail(format!("query returned {got}, expected {want}"))
}

/// A standby as the check sees it: its name for messages and what to match on.
struct Standby {
    lag: StandbyLag,
    application_name: String,
    client_addr: String,
}

impl Standby {
    fn label(&self) -> &str {
        if !self.application_name.is_empty() {
            &self.application_name
        } else if !self.client_addr.is_empty() {
            &self.client_addr
        } else {
            &self.lag.name
        }
    }

    fn is(&self, replica: &str) -> bool {
        self.application_name == replica || self.client_addr == replica || self.lag.name == replica
    }
}

/// The standbys (all, or the one named `replica`) with their lag, from `read_lag`
/// plus each one's `client_addr`.
async fn standbys(pool: &PgPool, replica: Option<&str>) -> Result<Vec<Standby>, String> {
    let lags = tokio::time::timeout(QUERY_TIMEOUT, read_lag(pool))
        .await
        .map_err(|_| {
            format!(
                "reading pg_stat_replication timed out after {}",
                secs(QUERY_TIMEOUT)
            )
        })??;
    let mut tx = begin(pool, QUERY_TIMEOUT).await?;
    let rows: Vec<(i32, String, String)> = sqlx::query_as(
        "SELECT pid, coalesce(application_name, ''), coalesce(host(client_addr), '')
         FROM pg_stat_replication",
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| format!("reading pg_stat_replication: {}", describe(&e)))?;
    let _ = tx.rollback().await;
    let by_pid: HashMap<i32, (String, String)> =
        rows.into_iter().map(|(pid, a, c)| (pid, (a, c))).collect();
    Ok(lags
        .into_iter()
        .map(|lag| {
            let (app, pid) = lag.name.rsplit_once('/').unwrap_or((&lag.name, ""));
            let (application_name, client_addr) = pid
                .parse::<i32>()
                .ok()
                .and_then(|p| by_pid.get(&p).cloned())
                .unwrap_or_else(|| (app.to_string(), String::new()));
            Standby {
                lag,
                application_name,
                client_addr,
            }
        })
        .filter(|s| replica.is_none_or(|r| s.is(r)))
        .collect())
}

/// How far one standby is behind, as far as the primary can tell.
#[derive(Clone, Debug, PartialEq)]
enum Behind {
    /// Seconds of replay lag (0: it has replayed everything).
    Secs(f64),
    /// WAL outstanding but no replay lag measured (replay paused or not yet reported).
    Bytes(u64),
}

fn behind(s: &StandbyLag) -> Behind {
    match (s.byte_lag, s.replay_lag) {
        // Replayed everything the primary wrote: idle, whatever was measured before.
        (0, _) => Behind::Secs(0.0),
        (_, Some(l)) => Behind::Secs(l.max(0.0)),
        (b, None) => Behind::Bytes(b),
    }
}

async fn replication_lag(
    pool: &PgPool,
    replica: Option<&str>,
    max: Duration,
) -> Result<CheckOutcome, String> {
    let mut tx = begin(pool, QUERY_TIMEOUT).await?;
    let (in_recovery, has_heartbeat): (bool, bool) =
        sqlx::query_as("SELECT pg_is_in_recovery(), to_regclass('ebb.heartbeat') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| format!("reading the server's role: {}", describe(&e)))?;
    let _ = tx.rollback().await;
    if in_recovery {
        return Ok(CheckOutcome::Inconclusive(
            "replication_lag is read on the primary; this server is a standby".to_string(),
        ));
    }
    let mut found = standbys(pool, replica).await?;
    if let Some(r) = replica
        && found.is_empty()
    {
        return Ok(CheckOutcome::Fail(format!("replica {r} is not connected")));
    }
    // Standbys behind without a measured lag: a heartbeat makes each report its replay
    // position again (and the primary measure a lag when replay moves).
    let mut round = 0;
    while has_heartbeat
        && round < HEARTBEAT_ROUNDS
        && found
            .iter()
            .any(|s| matches!(behind(&s.lag), Behind::Bytes(_)))
    {
        tokio::time::timeout(QUERY_TIMEOUT, heartbeat(pool))
            .await
            .map_err(|_| format!("heartbeat timed out after {}", secs(QUERY_TIMEOUT)))??;
        tokio::time::sleep(HEARTBEAT_WAIT).await;
        found = standbys(pool, replica).await?;
        round += 1;
    }
    if let Some(r) = replica
        && found.is_empty()
    {
        return Ok(CheckOutcome::Fail(format!("replica {r} is not connected")));
    }
    let limit = max.as_secs_f64();
    // The worst standby: any with unmeasured outstanding WAL, else the largest lag.
    let mut worst: Option<(&Standby, Behind)> = None;
    for s in &found {
        let b = behind(&s.lag);
        let worse = match (&worst, &b) {
            (None, _) => true,
            (Some((_, Behind::Bytes(w))), Behind::Bytes(n)) => n > w,
            (Some((_, Behind::Bytes(_))), Behind::Secs(_)) => false,
            (Some((_, Behind::Secs(_))), Behind::Bytes(_)) => true,
            (Some((_, Behind::Secs(w))), Behind::Secs(n)) => n > w,
        };
        if worse {
            worst = Some((s, b));
        }
    }
    Ok(match worst {
        None => CheckOutcome::Pass,
        Some((_, Behind::Secs(l))) if l <= limit => CheckOutcome::Pass,
        Some((s, Behind::Secs(l))) => {
            CheckOutcome::Fail(format!("{} lags {l:.1}s (max {})", s.label(), secs(max)))
        }
        Some((s, Behind::Bytes(b))) => CheckOutcome::Fail(format!(
            "{} is {b} bytes behind and its replay lag is not measured (max {})",
            s.label(),
            secs(max)
        )),
    })
}

/// `5s`, `1.5s`, `250ms`.
fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{}ms", d.as_millis())
    } else if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s:.1}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lag(bytes: u64, lag: Option<f64>) -> StandbyLag {
        StandbyLag {
            name: "s/1".into(),
            replay_lsn: "0/0".into(),
            byte_lag: bytes,
            replay_lag: lag,
        }
    }

    #[test]
    fn an_idle_standby_has_no_lag_whatever_was_measured_before() {
        assert_eq!(behind(&lag(0, Some(9.0))), Behind::Secs(0.0));
        assert_eq!(behind(&lag(0, None)), Behind::Secs(0.0));
        assert_eq!(behind(&lag(10, Some(2.5))), Behind::Secs(2.5));
        assert_eq!(behind(&lag(10, None)), Behind::Bytes(10));
    }

    #[test]
    fn numbers_compare_numerically_and_null_never_matches() {
        let n = |s: &str| SqlValue::Number(s.into());
        let int = toml::Value::Integer(3);
        assert_eq!(compare_sql(&n("3"), &int), CheckOutcome::Pass);
        assert_eq!(compare_sql(&n("3.0"), &int), CheckOutcome::Pass);
        assert_eq!(
            compare_sql(&n("3"), &toml::Value::Float(3.0)),
            CheckOutcome::Pass
        );
        assert_eq!(
            compare_sql(&n("4"), &toml::Value::Integer(0)),
            CheckOutcome::Fail("query returned 4, expected 0".into())
        );
        assert_eq!(
            compare_sql(&SqlValue::Null, &int),
            CheckOutcome::Fail("query returned NULL, expected 3".into())
        );
        assert_eq!(
            compare_sql(&SqlValue::Null, &toml::Value::String("NULL".into())),
            CheckOutcome::Fail("query returned NULL, expected \"NULL\"".into())
        );
        let text = SqlValue::Text {
            text: "abc".into(),
            ty: "text".into(),
        };
        assert_eq!(
            compare_sql(&text, &int),
            CheckOutcome::Fail("query returned \"abc\" (text), expected 3".into())
        );
        assert_eq!(
            compare_sql(&SqlValue::Bool(true), &toml::Value::Boolean(true)),
            CheckOutcome::Pass
        );
        assert!(matches!(
            compare_sql(&SqlValue::Bool(true), &int),
            CheckOutcome::Fail(_)
        ));
    }

    #[test]
    fn row_counts_pass_within_the_tolerance_ratio() {
        assert_eq!(compare_counts("t", 1001, 1000, 0.001), CheckOutcome::Pass);
        assert_eq!(
            compare_counts("t", 1002, 1000, 0.001),
            CheckOutcome::Fail("t has 1002 rows, baseline 1000 (+0.20%), tolerance 0.1%".into())
        );
        assert_eq!(compare_counts("t", 0, 0, 0.0), CheckOutcome::Pass);
        assert!(matches!(
            compare_counts("t", 1, 0, 0.5),
            CheckOutcome::Fail(_)
        ));
    }

    #[test]
    fn versions_match_as_text_or_as_integers() {
        assert_eq!(compare_versions("7", "007"), CheckOutcome::Pass);
        assert_eq!(compare_versions("1.2", "1.2"), CheckOutcome::Pass);
        assert_eq!(
            compare_versions("3", "4"),
            CheckOutcome::Fail("schema version is 3, expected 4".into())
        );
        assert!(matches!(
            compare_versions("none", "4"),
            CheckOutcome::Inconclusive(_)
        ));
    }
}
