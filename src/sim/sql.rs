//! What SQL means in the drill world: the statement and query shapes rollback plans use
//! (slots, replay, columns, batched updates, counts), recognised by their tokens.

/// A statement of a `sql` step, as the drill world models it.
#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    DropSlot(String),
    CreateSlot(String),
    ReplayPause,
    ReplayResume,
    AddColumn {
        table: String,
        column: String,
    },
    DropColumns {
        table: String,
        columns: Vec<String>,
    },
    /// `DELETE FROM schema_migrations WHERE version = '…'`: the migration's down step.
    DownMigration {
        version: String,
    },
    /// Nothing the world models: it is recorded and changes nothing.
    Unmodelled,
}

/// A query of a `sql` check, as the drill world can answer it.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    /// `SELECT count(*) FROM t`
    CountRows {
        table: String,
    },
    /// `SELECT count(*) FROM t WHERE c IS [NOT] NULL`
    CountNull {
        table: String,
        column: String,
        null: bool,
    },
    /// `… FROM information_schema.columns WHERE table_name = 't' AND column_name = 'c'`
    ColumnExists {
        table: String,
        column: String,
    },
    /// `… FROM pg_replication_slots [WHERE slot_name = 's'] [AND [NOT] active]`
    Slots {
        slot: Option<String>,
        active: Option<bool>,
    },
    /// `… FROM pg_stat_activity WHERE query ILIKE '%…%'`: sessions running what the
    /// literals name.
    Sessions {
        mentions: Vec<String>,
    },
    Unknown,
}

/// A batched `UPDATE t SET c = … WHERE key >= $1 AND key < $2`: the columns it sets, and
/// whether to NULL.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchUpdate {
    pub table: String,
    pub columns: Vec<(String, bool)>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Sym(char),
}

fn tokens(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '\'' {
            let mut s = String::new();
            while let Some(d) = chars.next() {
                if d == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                        s.push('\'');
                        continue;
                    }
                    break;
                }
                s.push(d);
            }
            out.push(Tok::Str(s));
        } else if c.is_alphanumeric() || c == '_' || c == '"' || c == '$' {
            let mut w = String::new();
            if c != '"' {
                w.push(c.to_ascii_lowercase());
            }
            while let Some(&d) = chars.peek() {
                if d.is_alphanumeric() || d == '_' || d == '"' || d == '.' || d == '$' {
                    if d != '"' {
                        w.push(d.to_ascii_lowercase());
                    }
                    chars.next();
                } else {
                    break;
                }
            }
            // `public.orders` is `orders`.
            let w = w.strip_prefix("public.").map(str::to_string).unwrap_or(w);
            out.push(Tok::Word(w));
        } else {
            out.push(Tok::Sym(c));
        }
    }
    out
}

fn word(t: Option<&Tok>) -> Option<&str> {
    match t {
        Some(Tok::Word(w)) => Some(w),
        _ => None,
    }
}

fn is(t: Option<&Tok>, w: &str) -> bool {
    word(t) == Some(w)
}

/// The first string literal after the word `name` (a function's argument).
fn arg_of(toks: &[Tok], name: &str) -> Option<String> {
    let i = toks.iter().position(|t| is(Some(t), name))?;
    toks[i..].iter().find_map(|t| match t {
        Tok::Str(s) => Some(s.clone()),
        _ => None,
    })
}

/// The literal compared with `column` (`column = 'x'`).
fn equals(toks: &[Tok], column: &str) -> Option<String> {
    toks.windows(3).find_map(|w| match w {
        [Tok::Word(c), Tok::Sym('='), Tok::Str(v)] if c == column => Some(v.clone()),
        _ => None,
    })
}

/// Skips optional words at `i`, returning the next index.
fn skip(toks: &[Tok], mut i: usize, optional: &[&str]) -> usize {
    while optional.iter().any(|w| is(toks.get(i), w)) {
        i += 1;
    }
    i
}

fn has(toks: &[Tok], w: &str) -> bool {
    toks.iter().any(|t| is(Some(t), w))
}

/// What `text`, a `sql` step's statement, does to the drill world.
pub fn statement(text: &str) -> Statement {
    let toks = tokens(text);
    if let Some(s) = arg_of(&toks, "pg_drop_replication_slot") {
        return Statement::DropSlot(s);
    }
    for f in [
        "pg_create_physical_replication_slot",
        "pg_create_logical_replication_slot",
    ] {
        if let Some(s) = arg_of(&toks, f) {
            return Statement::CreateSlot(s);
        }
    }
    if has(&toks, "pg_wal_replay_pause") {
        return Statement::ReplayPause;
    }
    if has(&toks, "pg_wal_replay_resume") {
        return Statement::ReplayResume;
    }
    if is(toks.first(), "alter") && is(toks.get(1), "table") {
        let i = skip(&toks, 2, &["if", "exists", "only"]);
        let Some(table) = word(toks.get(i)).map(str::to_string) else {
            return Statement::Unmodelled;
        };
        let mut columns = Vec::new();
        let mut j = i + 1;
        while j < toks.len() {
            match word(toks.get(j)) {
                Some("add") => {
                    let k = skip(&toks, j + 1, &["column", "if", "not", "exists"]);
                    if let Some(c) = word(toks.get(k)) {
                        return Statement::AddColumn {
                            table,
                            column: c.to_string(),
                        };
                    }
                    return Statement::Unmodelled;
                }
                Some("drop") => {
                    let k = skip(&toks, j + 1, &["column", "if", "exists"]);
                    match word(toks.get(k)) {
                        Some(c) => columns.push(c.to_string()),
                        None => return Statement::Unmodelled,
                    }
                    j = k + 1;
                }
                _ => j += 1,
            }
        }
        if !columns.is_empty() {
            return Statement::DropColumns { table, columns };
        }
        return Statement::Unmodelled;
    }
    if is(toks.first(), "delete")
        && is(toks.get(1), "from")
        && is(toks.get(2), "schema_migrations")
        && let Some(version) = equals(&toks, "version")
    {
        return Statement::DownMigration { version };
    }
    Statement::Unmodelled
}

/// The table after `from`.
fn from_table(toks: &[Tok]) -> Option<String> {
    let i = toks.iter().position(|t| is(Some(t), "from"))?;
    word(toks.get(i + 1)).map(str::to_string)
}

/// What `text`, a `sql` check's query, asks of the drill world.
pub fn query(text: &str) -> Query {
    let toks = tokens(text);
    let Some(table) = from_table(&toks) else {
        return Query::Unknown;
    };
    match table.as_str() {
        "information_schema.columns" => {
            return match (equals(&toks, "table_name"), equals(&toks, "column_name")) {
                (Some(table), Some(column)) => Query::ColumnExists { table, column },
                _ => Query::Unknown,
            };
        }
        "pg_replication_slots" => {
            let after_where = match toks.iter().position(|t| is(Some(t), "where")) {
                Some(w) => &toks[w..],
                None => &[],
            };
            let said = after_where.windows(3).find_map(|w| match w {
                [Tok::Word(a), Tok::Sym('='), Tok::Word(v)] if a == "active" => Some(v == "true"),
                _ => None,
            });
            let negated = after_where
                .windows(2)
                .any(|w| is(w.first(), "not") && is(w.get(1), "active"));
            let active = match said {
                Some(v) => Some(v),
                None if negated => Some(false),
                None if has(after_where, "active") => Some(true),
                None => None,
            };
            return Query::Slots {
                slot: equals(&toks, "slot_name"),
                active,
            };
        }
        "pg_stat_activity" => {
            let mentions = toks
                .iter()
                .filter_map(|t| match t {
                    Tok::Str(s) => Some(s.trim_matches('%').to_lowercase()),
                    _ => None,
                })
                .filter(|s| !s.is_empty() && s != "active" && s != "idle")
                .collect();
            return Query::Sessions { mentions };
        }
        _ => {}
    }
    let counting = is(toks.first(), "select") && is(toks.get(1), "count");
    if !counting {
        return Query::Unknown;
    }
    let Some(w) = toks.iter().position(|t| is(Some(t), "where")) else {
        return Query::CountRows { table };
    };
    match &toks[w + 1..] {
        [Tok::Word(c), Tok::Word(i), Tok::Word(n)] if i == "is" && n == "null" => {
            Query::CountNull {
                table,
                column: c.clone(),
                null: true,
            }
        }
        [Tok::Word(c), Tok::Word(i), Tok::Word(no), Tok::Word(n)]
            if i == "is" && no == "not" && n == "null" =>
        {
            Query::CountNull {
                table,
                column: c.clone(),
                null: false,
            }
        }
        _ => Query::Unknown,
    }
}

/// The columns a `sql_batches` statement sets, when it is an `UPDATE … SET`.
pub fn batch_update(text: &str) -> Option<BatchUpdate> {
    let toks = tokens(text);
    if !is(toks.first(), "update") {
        return None;
    }
    let i = skip(&toks, 1, &["only"]);
    let table = word(toks.get(i))?.to_string();
    if !is(toks.get(i + 1), "set") {
        return None;
    }
    let mut columns = Vec::new();
    let mut j = i + 2;
    loop {
        let (Some(c), Some(Tok::Sym('='))) = (word(toks.get(j)), toks.get(j + 1)) else {
            return None;
        };
        let null = is(toks.get(j + 2), "null");
        columns.push((c.to_string(), null));
        // The value runs to the next top-level comma, or to WHERE.
        let mut depth = 0i32;
        let mut k = j + 2;
        loop {
            match toks.get(k) {
                None => return Some(BatchUpdate { table, columns }),
                Some(Tok::Sym('(')) => depth += 1,
                Some(Tok::Sym(')')) => depth -= 1,
                Some(Tok::Sym(',')) if depth == 0 => break,
                Some(t) if depth == 0 && is(Some(t), "where") => {
                    return Some(BatchUpdate { table, columns });
                }
                _ => {}
            }
            k += 1;
        }
        j = k + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_and_replay_statements() {
        assert_eq!(
            statement("SELECT pg_drop_replication_slot('debezium_orders');"),
            Statement::DropSlot("debezium_orders".into())
        );
        assert_eq!(
            statement("select pg_create_physical_replication_slot('replica_1')"),
            Statement::CreateSlot("replica_1".into())
        );
        assert_eq!(
            statement("SELECT pg_wal_replay_pause()"),
            Statement::ReplayPause
        );
        assert_eq!(
            statement("SELECT pg_wal_replay_resume()"),
            Statement::ReplayResume
        );
    }

    #[test]
    fn column_statements() {
        assert_eq!(
            statement("ALTER TABLE orders ADD COLUMN region text"),
            Statement::AddColumn {
                table: "orders".into(),
                column: "region".into()
            }
        );
        assert_eq!(
            statement(
                "ALTER TABLE public.orders DROP COLUMN IF EXISTS address_line1, DROP COLUMN address_line2"
            ),
            Statement::DropColumns {
                table: "orders".into(),
                columns: vec!["address_line1".into(), "address_line2".into()]
            }
        );
        assert_eq!(
            statement("DELETE FROM schema_migrations WHERE version = '0042'"),
            Statement::DownMigration {
                version: "0042".into()
            }
        );
        assert_eq!(
            statement("UPDATE schema_flags SET backfill_0042 = 'reverted'"),
            Statement::Unmodelled
        );
    }

    #[test]
    fn queries() {
        assert_eq!(
            query("SELECT count(*) FROM orders"),
            Query::CountRows {
                table: "orders".into()
            }
        );
        assert_eq!(
            query("SELECT count(*) FROM orders WHERE address_line1 IS NOT NULL"),
            Query::CountNull {
                table: "orders".into(),
                column: "address_line1".into(),
                null: false
            }
        );
        assert_eq!(
            query(
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'region'"
            ),
            Query::ColumnExists {
                table: "orders".into(),
                column: "region".into()
            }
        );
        assert_eq!(
            query("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'debezium_orders'"),
            Query::Slots {
                slot: Some("debezium_orders".into()),
                active: None
            }
        );
        assert_eq!(
            query("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'x' AND NOT active"),
            Query::Slots {
                slot: Some("x".into()),
                active: Some(false)
            }
        );
        assert_eq!(
            query(
                "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE '%address_line1%' AND state = 'active'"
            ),
            Query::Sessions {
                mentions: vec!["address_line1".into()]
            }
        );
        assert_eq!(query("SELECT max(id) FROM orders"), Query::Unknown);
        assert_eq!(query("SELECT 1"), Query::Unknown);
    }

    #[test]
    fn batch_updates() {
        assert_eq!(
            batch_update(
                "UPDATE orders SET address_line1 = NULL, address_line2 = NULL WHERE id >= $1 AND id < $2"
            ),
            Some(BatchUpdate {
                table: "orders".into(),
                columns: vec![
                    ("address_line1".into(), true),
                    ("address_line2".into(), true)
                ]
            })
        );
        assert_eq!(
            batch_update(
                "UPDATE orders SET region = CASE WHEN customer % 2 = 0 THEN 'eu' ELSE 'us' END WHERE id >= $1 AND id < $2"
            ),
            Some(BatchUpdate {
                table: "orders".into(),
                columns: vec![("region".into(), false)]
            })
        );
        assert_eq!(batch_update("DELETE FROM orders WHERE id >= $1"), None);
    }
}
