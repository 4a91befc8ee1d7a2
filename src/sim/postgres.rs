//! The drill world as a postgres target: `sql` statements become world controls (slots,
//! replay, columns, the down-migration), `sql_batches` move the backfill's rows in
//! batches paced by world time and throttled by the simulated replicas' lag.

use std::time::Duration;

use super::actuators::{POLL, SimWorld};
use super::bind::{Node, normalized};
use super::effects::EffectLog;
use super::sql::{self as sim_sql, Query, Statement};
use super::world::WorldControl;
use super::world::model::WorldState;
use super::world::tables::{self, TableChange};
use crate::engine::actuator::{batches_landed, scale};
use crate::engine::{BatchFigures, CheckOutcome, Ended, Failure, Probe, Progress};
use crate::engine::{Effect, Steering};
use crate::plan::StepKind;
use crate::sources::MigrationPhase;
use crate::units::fmt_duration;

/// The key of the `n`th group of batches a `sql_batches` step recorded.
fn batch_key(key: &str, n: u64) -> String {
    format!("{key}/b{n}")
}

impl<E: EffectLog> SimWorld<E> {
    /// The controls a `sql` statement on `node` means in the world as it is now.
    fn statement_controls(&self, node: &Node, text: &str) -> Result<Vec<WorldControl>, String> {
        let said = normalized(text);
        if let Some((_, c)) = self
            .binding
            .statements
            .iter()
            .find(|(pattern, _)| said.contains(pattern.as_str()))
        {
            return Ok(vec![c.clone()]);
        }
        let replica = |what: &str| match node {
            Node::Replica(r) => Ok(r.clone()),
            _ => Err(format!(
                "{what}: recovery is not in progress (this is the primary)"
            )),
        };
        self.with_world(|w| {
            let s = w.state();
            Ok(match sim_sql::statement(text) {
                Statement::DropSlot(name) => vec![WorldControl::DropSlot { name }],
                Statement::CreateSlot(name) => vec![WorldControl::CreateSlot {
                    name,
                    replica: None,
                }],
                Statement::ReplayPause => vec![WorldControl::PauseReplay {
                    replica: replica("pg_wal_replay_pause()")?,
                }],
                Statement::ReplayResume => vec![WorldControl::ResumeReplay {
                    replica: replica("pg_wal_replay_resume()")?,
                }],
                Statement::AddColumn { table, column } => {
                    vec![WorldControl::Table(TableChange::AddColumn {
                        table,
                        column,
                    })]
                }
                // Dropping the backfill's columns is its down-migration.
                Statement::DropColumns { table, columns }
                    if table == s.migration.table
                        && columns.iter().all(|c| {
                            tables::is_backfill_column(s, c)
                                && !s.added_columns.iter().any(|a| a.name == *c)
                        }) =>
                {
                    vec![WorldControl::DownMigrate]
                }
                Statement::DropColumns { table, columns } => columns
                    .into_iter()
                    .map(|column| {
                        WorldControl::Table(TableChange::DropColumn {
                            table: table.clone(),
                            column,
                        })
                    })
                    .collect(),
                Statement::DownMigration { version } if version == s.migration.to_schema => {
                    vec![WorldControl::DownMigrate]
                }
                Statement::DownMigration { .. } | Statement::Unmodelled => Vec::new(),
            })
        })?
    }

    /// A `sql` step's statement on `node`, recorded under `key`.
    pub async fn sql(&mut self, node: &Node, statement: &str, key: &str) -> Result<Ended, Failure> {
        let controls = self.statement_controls(node, statement)?;
        self.record_controls(key, controls, "sql").await?;
        Ok(Ended::Complete)
    }

    /// Whether a `sql_batches` effect happened: its marker, or some of its batches.
    pub async fn probe_batches(&mut self, key: &str) -> Probe {
        match self.probe_marker(key).await {
            Probe::NotHappened => match self.effects.contains(&batch_key(key, 1)).await {
                Ok(true) => Probe::Resumable(
                    "some batches were applied; running it again continues from the rows left"
                        .into(),
                ),
                Ok(false) => Probe::NotHappened,
                Err(e) => Probe::Unknown(e),
            },
            other => other,
        }
    }

    /// A `sql_batches` step on the world's table: rows move at the plan's
    /// `max_rows_per_second` (else the backfill's own rate) of world time, a group of
    /// batches at a time, holding while a replica lags more than the throttle allows.
    pub async fn sql_batches(
        &mut self,
        e: &Effect<'_>,
        steering: &mut Steering,
        progress: &Progress,
    ) -> Result<Ended, Failure> {
        let StepKind::SqlBatches {
            table,
            batch,
            statement,
            throttle,
            ..
        } = e.kind
        else {
            return Err("not a sql_batches step".into());
        };
        let update = sim_sql::batch_update(statement).ok_or(
            "the drill world runs `sql_batches` statements of the form \
             UPDATE t SET c = … WHERE key >= $1 AND key < $2",
        )?;
        if update.table != *table {
            return Err(format!(
                "the statement updates {} but the step batches {table}",
                update.table
            )
            .into());
        }
        // One change per cell: the backfill's columns share the backfill's rows.
        let (changes, rate) = self.with_world(|w| {
            let s = w.state();
            let mut changes: Vec<(String, bool)> = Vec::new();
            let mut backfill = false;
            for (column, null) in &update.columns {
                if !tables::has_column(s, table, column) {
                    return Err(format!(
                        "column \"{column}\" of relation \"{table}\" does not exist"
                    ));
                }
                let added = s.added_columns.iter().any(|a| a.name == *column);
                if !added {
                    if backfill {
                        continue;
                    }
                    backfill = true;
                }
                changes.push((column.clone(), *null));
            }
            let rate = throttle
                .max_rows_per_second
                .map(|r| r as f64)
                .unwrap_or(s.migration.rows_per_sec);
            Ok((changes, rate))
        })??;
        let Some((lead, lead_null)) = changes.first().cloned() else {
            return Err("the statement sets no column".into());
        };
        let remaining = |s: &WorldState| {
            let filled = tables::filled(s, table, &lead).unwrap_or(0);
            if lead_null {
                filled
            } else {
                s.migration.rows_total.saturating_sub(filled)
            }
        };
        let at_start = self.with_world(|w| remaining(w.state()))?;
        let mut group = 0u64;
        while self.effects.contains(&batch_key(e.key, group + 1)).await? {
            group += 1;
        }
        let mut committed = 0u64;
        let mut moved = 0u64;
        let mut budget = 0.0f64;
        let mut last = self.with_world(|w| w.elapsed().as_secs_f64())?;
        loop {
            if *steering.stop.borrow() {
                return Ok(Ended::stopped_after(
                    format!("batch {committed}"),
                    batches_landed(committed),
                ));
            }
            let size = scale(*batch, *steering.batch_scale.borrow());
            let (left, holding, now) = self.with_world(|w| {
                let s = w.state();
                let holding = throttle.max_replication_lag.and_then(|max| {
                    s.replicas.iter().find_map(|r| {
                        let lag = Duration::from_secs_f64(r.time_lag?.max(0.0));
                        (r.broken.is_none() && lag > max).then(|| {
                            format!(
                                "{} lag {} > {}",
                                r.name,
                                fmt_duration(lag),
                                fmt_duration(max)
                            )
                        })
                    })
                });
                (remaining(s), holding, w.elapsed().as_secs_f64())
            })?;
            if left == 0 {
                self.record_controls(e.key, Vec::new(), "sql_batches")
                    .await?;
                return Ok(Ended::Complete);
            }
            let dt = (now - last).max(0.0);
            last = now;
            if holding.is_none() {
                budget += dt * rate;
            }
            let n = (budget / size as f64).floor() as u64;
            if n > 0 && holding.is_none() {
                let rows = (n * size).min(left);
                budget -= (n * size) as f64;
                let controls = changes
                    .iter()
                    .map(|(column, null)| {
                        WorldControl::Table(TableChange::Rows {
                            table: table.clone(),
                            column: column.clone(),
                            rows,
                            null: *null,
                        })
                    })
                    .collect();
                group += 1;
                self.record_controls(&batch_key(e.key, group), controls, "batches")
                    .await
                    .map_err(|f| Failure::after(batches_landed(committed), f.error))?;
                committed += n;
                moved += rows;
            }
            let figures = BatchFigures {
                rows_done: moved,
                rows_total: at_start,
                rows_per_sec: if holding.is_some() { 0.0 } else { rate },
                batch_size: size,
                holding: holding.clone(),
            };
            if let Ok(mut m) = steering.meter.lock() {
                *m = Some(figures);
            }
            let text = match &holding {
                Some(why) => format!("holding: {why}"),
                None => format!("{moved}/{at_start} rows, {committed} batches"),
            };
            if let Ok(mut p) = progress.lock() {
                *p = Some(text);
            }
            let stop = &mut steering.stop;
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        }
    }
}

/// What a `sql` check's `query` returns in the world as it is now, when it can be told.
pub fn answer(s: &WorldState, text: &str) -> Result<i64, String> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let no_table = |t: &str| format!("relation \"{t}\" does not exist");
    match sim_sql::query(text) {
        Query::CountRows { table } if tables::has_table(s, &table) => {
            Ok(count(s.migration.rows_total))
        }
        Query::CountRows { table } => Err(no_table(&table)),
        Query::CountNull {
            table,
            column,
            null,
        } => match tables::filled(s, &table, &column) {
            Some(filled) if null => Ok(count(s.migration.rows_total.saturating_sub(filled))),
            Some(filled) => Ok(count(filled)),
            None if !tables::has_table(s, &table) => Err(no_table(&table)),
            None => Err(format!("column \"{column}\" does not exist")),
        },
        Query::ColumnExists { table, column } => {
            Ok(i64::from(tables::has_column(s, &table, &column)))
        }
        Query::Slots { slot, active } => Ok(count(
            s.slots
                .iter()
                .filter(|x| slot.as_ref().is_none_or(|n| *n == x.name))
                .filter(|x| active.is_none_or(|a| a == x.active()))
                .count() as u64,
        )),
        Query::Sessions { mentions } => {
            let m = &s.migration;
            let writing = matches!(m.phase, MigrationPhase::Running | MigrationPhase::Throttled);
            let about_backfill = mentions
                .iter()
                .any(|w| *w == m.table || tables::is_backfill_column(s, w));
            Ok(i64::from(writing && about_backfill))
        }
        Query::Unknown => Err(format!(
            "the drill world cannot answer `{text}`; the facilitator decides"
        )),
    }
}

/// A `sql` check: `query`'s answer compared with `expect`.
pub fn evaluate_sql(s: &WorldState, query: &str, expect: &toml::Value) -> CheckOutcome {
    let got = match answer(s, query) {
        Ok(v) => v,
        Err(why) => return CheckOutcome::Inconclusive(why),
    };
    let matches = match expect {
        toml::Value::Integer(i) => *i == got,
        toml::Value::Float(f) => *f == got as f64,
        toml::Value::String(t) => t.trim() == got.to_string(),
        toml::Value::Boolean(b) => *b == (got != 0),
        _ => false,
    };
    if matches {
        CheckOutcome::Pass
    } else {
        CheckOutcome::Fail(format!("query returned {got}, expected {expect}"))
    }
}
