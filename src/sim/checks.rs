//! Checks evaluated against the drill world: replication lag, volume usage, error rate,
//! schema version and row counts. A source in outage makes its checks inconclusive.

use std::time::Duration;

use crate::engine::CheckOutcome;
use crate::plan::{Check, CheckKind};
use crate::sim::world::{OutageSource, World};
use crate::units::fmt_duration;

/// Figures captured when a run starts, for `verify` steps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Baseline {
    pub rows: u64,
    pub schema_version: String,
}

impl Baseline {
    pub fn capture(world: &World) -> Baseline {
        let s = world.state();
        Baseline {
            rows: s.migration.rows_total,
            schema_version: s.schema_version.clone(),
        }
    }
}

/// Evaluates `check` against the world as it is now.
pub fn evaluate(world: &World, check: &Check, baseline: &Baseline) -> CheckOutcome {
    let db_down = world.source_outage(OutageSource::Db);
    let app_down = world.source_outage(OutageSource::App);
    let s = world.state();
    match &check.kind {
        CheckKind::ReplicationLag { replica, max } => {
            if db_down {
                return CheckOutcome::Inconclusive(format!(
                    "replication lag of {}: source sim:db is down",
                    check.target
                ));
            }
            for r in s
                .replicas
                .iter()
                .filter(|r| replica.as_ref().is_none_or(|n| *n == r.name))
            {
                if let Some(broken) = &r.broken {
                    return CheckOutcome::Fail(format!("{} is broken: {broken}", r.name));
                }
                if let Some(lag) = r.time_lag {
                    let lag = Duration::from_secs_f64(lag.max(0.0));
                    if lag > *max {
                        return CheckOutcome::Fail(format!(
                            "{} lag {} > {}",
                            r.name,
                            fmt_duration(lag),
                            fmt_duration(*max)
                        ));
                    }
                }
            }
            if let Some(name) = replica
                && !s.replicas.iter().any(|r| r.name == *name)
            {
                return CheckOutcome::Inconclusive(format!(
                    "no replica named {name} in the drill world"
                ));
            }
            CheckOutcome::Pass
        }
        CheckKind::VolumeUsage { volume, max } => {
            if db_down {
                return CheckOutcome::Inconclusive(format!(
                    "usage of {volume}: source sim:db is down"
                ));
            }
            match s.volumes.iter().find(|v| v.name == *volume) {
                None => CheckOutcome::Inconclusive(format!(
                    "no volume named {volume} in the drill world"
                )),
                Some(v) => {
                    let used = if v.capacity > 0.0 {
                        v.used / v.capacity
                    } else {
                        0.0
                    };
                    if used > *max {
                        CheckOutcome::Fail(format!(
                            "{volume} {:.1}% used > {:.1}%",
                            used * 100.0,
                            max * 100.0
                        ))
                    } else {
                        CheckOutcome::Pass
                    }
                }
            }
        }
        CheckKind::ErrorRate { max } => {
            if app_down {
                return CheckOutcome::Inconclusive("error rate: source sim:app is down".into());
            }
            if s.app.error_rate > *max {
                CheckOutcome::Fail(format!(
                    "error rate {:.1}% > {:.1}%",
                    s.app.error_rate * 100.0,
                    max * 100.0
                ))
            } else {
                CheckOutcome::Pass
            }
        }
        CheckKind::SchemaVersion { is } => {
            if db_down {
                return CheckOutcome::Inconclusive("schema version: source sim:db is down".into());
            }
            if s.schema_version == *is {
                CheckOutcome::Pass
            } else {
                CheckOutcome::Fail(format!("schema is {} (want {is})", s.schema_version))
            }
        }
        CheckKind::RowCount { table, tolerance } => {
            if db_down {
                return CheckOutcome::Inconclusive(format!(
                    "row count of {table}: source sim:db is down"
                ));
            }
            let now = s.migration.rows_total as f64;
            let base = baseline.rows as f64;
            let drift = if base > 0.0 {
                (now - base).abs() / base
            } else {
                0.0
            };
            if drift > *tolerance {
                CheckOutcome::Fail(format!(
                    "{table} has {now} rows, baseline {base} (±{:.2}%)",
                    tolerance * 100.0
                ))
            } else {
                CheckOutcome::Pass
            }
        }
        // The drill's checksum covers the table's rows (their keys), not column values.
        CheckKind::TableChecksum { table } => {
            if db_down {
                return CheckOutcome::Inconclusive(format!(
                    "checksum of {table}: source sim:db is down"
                ));
            }
            if !super::world::tables::has_table(s, table) {
                return CheckOutcome::Inconclusive(format!("relation \"{table}\" does not exist"));
            }
            if s.migration.rows_total == baseline.rows {
                CheckOutcome::Pass
            } else {
                CheckOutcome::Fail(format!("checksum of {table} differs from the baseline"))
            }
        }
        CheckKind::Sql { query, expect } => {
            if db_down {
                return CheckOutcome::Inconclusive("sql check: source sim:db is down".into());
            }
            super::postgres::evaluate_sql(s, query, expect)
        }
        CheckKind::Promql { .. } => {
            CheckOutcome::Inconclusive("promql checks need a real Prometheus".into())
        }
    }
}

/// The first failing or inconclusive outcome of `checks`, else `Pass`.
pub fn evaluate_all<'a>(
    world: &World,
    checks: impl IntoIterator<Item = &'a Check>,
    baseline: &Baseline,
) -> CheckOutcome {
    for c in checks {
        let r = evaluate(world, c, baseline);
        if r != CheckOutcome::Pass {
            return r;
        }
    }
    CheckOutcome::Pass
}
