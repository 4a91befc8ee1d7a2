//! The drill world's tables as plans change them: columns added and dropped, and rows of
//! the backfill's columns filled or set back to NULL in batches (writing WAL as they go).

use super::control::WorldError;
use super::model::{AddedColumn, WorldState};
use super::{Events, push_event};
use crate::sources::Severity;

/// A change a plan's `sql` or `sql_batches` step makes to a table.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TableChange {
    AddColumn {
        table: String,
        column: String,
    },
    /// Drops a column a plan added (dropping the backfill's columns is a down-migration).
    DropColumn {
        table: String,
        column: String,
    },
    /// `rows` more rows of `column` set (`null`: set back to NULL). On the backfill's
    /// columns, this moves the backfill's rows.
    Rows {
        table: String,
        column: String,
        rows: u64,
        null: bool,
    },
}

/// Whether `table` exists in the world (the backfill's table is the one it models).
pub fn has_table(s: &WorldState, table: &str) -> bool {
    s.migration.table == table
}

/// Whether `column` of `table` exists now.
pub fn has_column(s: &WorldState, table: &str, column: &str) -> bool {
    let m = &s.migration;
    (m.table == table && is_backfill_column(s, column) && s.schema_version != m.from_schema)
        || s.added_columns
            .iter()
            .any(|c| c.table == table && c.name == column)
}

/// Whether `column` is one the backfill fills (the scenario's `[migration] columns`).
pub fn is_backfill_column(s: &WorldState, column: &str) -> bool {
    s.migration.columns.iter().any(|c| c == column)
}

/// Rows of `column` that are not NULL, when the column exists.
pub fn filled(s: &WorldState, table: &str, column: &str) -> Option<u64> {
    if !has_column(s, table, column) {
        return None;
    }
    if let Some(c) = s
        .added_columns
        .iter()
        .find(|c| c.table == table && c.name == column)
    {
        return Some(c.filled);
    }
    Some(s.migration.rows_done)
}

fn refused(text: String) -> WorldError {
    WorldError::Refused(text)
}

/// Applies `c` at world time `now`.
pub(super) fn apply(
    s: &mut WorldState,
    c: TableChange,
    now: f64,
    ev: &mut Events,
) -> Result<(), WorldError> {
    match c {
        TableChange::AddColumn { table, column } => {
            if !has_table(s, &table) {
                return Err(refused(format!("relation \"{table}\" does not exist")));
            }
            if has_column(s, &table, &column) {
                return Err(refused(format!(
                    "column \"{column}\" of relation \"{table}\" already exists"
                )));
            }
            s.added_columns.push(AddedColumn {
                table: table.clone(),
                name: column.clone(),
                filled: 0,
            });
            push_event(
                ev,
                now,
                Severity::Info,
                format!("{table}: column {column} added"),
            );
        }
        TableChange::DropColumn { table, column } => {
            let Some(i) = s
                .added_columns
                .iter()
                .position(|c| c.table == table && c.name == column)
            else {
                return Err(refused(format!(
                    "column \"{column}\" of relation \"{table}\" does not exist"
                )));
            };
            s.added_columns.remove(i);
            push_event(
                ev,
                now,
                Severity::Info,
                format!("{table}: column {column} dropped"),
            );
        }
        TableChange::Rows {
            table,
            column,
            rows,
            null,
        } => {
            if !has_column(s, &table, &column) {
                return Err(refused(format!(
                    "column \"{column}\" of relation \"{table}\" does not exist"
                )));
            }
            if s.primary.writes_blocked {
                return Err(refused(
                    "could not extend file: No space left on device".to_string(),
                ));
            }
            let total = s.migration.rows_total;
            let m = &mut s.migration;
            let cell = match s
                .added_columns
                .iter_mut()
                .find(|c| c.table == table && c.name == column)
            {
                Some(c) => &mut c.filled,
                None => &mut m.rows_done,
            };
            let moved = if null {
                let n = rows.min(*cell);
                *cell -= n;
                n
            } else {
                let n = rows.min(total - (*cell).min(total));
                *cell += n;
                n
            };
            // Every row rewritten writes WAL, like the backfill's own batches.
            let wal = moved as f64 * m.bytes_per_row;
            s.primary.lsn += wal;
            if wal > 0.0 {
                s.primary.last_write_at = now;
            }
        }
    }
    Ok(())
}
