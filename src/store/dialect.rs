//! What differs between SQLite and PostgreSQL, and the sqlx bounds every query needs, in
//! one trait (`Dialect`) that the store's operations are written against once.

use futures::future::BoxFuture;
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Postgres, Row, Sqlite, Type,
};

/// A query with its arguments bound, as every store statement is built.
pub(super) type Q<DB> = Query<'static, DB, <DB as Database>::Arguments>;

/// A dialect the store runs on. Generic code needs nothing but `DB: Dialect`: the value
/// types it binds and reads are supertraits (`Bind<T>`, `Get<T>`), the executor bound is
/// `Exec`, all blanket-implemented below. (A trait's `where` clauses on other types are
/// not implied where it is used, so the bounds are carried by these helper traits.)
pub(super) trait Dialect:
    Exec
    + Bind<i64>
    + for<'a> Bind<&'a str>
    + for<'a> Bind<Option<&'a str>>
    + Bind<Option<i64>>
    + for<'a> Bind<Json<&'a serde_json::Value>>
    + Bind<Vec<u8>>
    + Get<i64>
    + Get<Vec<u8>>
    + Get<String>
    + Get<Option<String>>
    + Get<Option<i64>>
    + Get<Json<serde_json::Value>>
{
    /// Opens a write transaction. SQLite's `BEGIN IMMEDIATE` takes the database's write
    /// lock up front, so a read inside it and the write after it are one step.
    const BEGIN_WRITE: &'static str;

    /// Appended to a `SELECT` inside a write transaction whose rows must stay locked
    /// until commit (PostgreSQL's `FOR UPDATE`; SQLite's write lock already covers them).
    const FOR_UPDATE: &'static str;

    /// The statement, run right after [`Dialect::BEGIN_WRITE`], that serializes the
    /// writers of `lock`; None when beginning already did.
    fn serialize(lock: Lock<'_>) -> Option<Q<Self>>;

    /// Whether writes announce the run they changed ([`Dialect::announce`]).
    const ANNOUNCES: bool;

    /// The statement announcing, in the writing transaction (so it is delivered at
    /// commit), that `run_id` changed; None when the dialect has no notifications.
    fn announce(run_id: &str) -> Option<Q<Self>>;

    /// Whether `e` is a unique violation of `index`.
    fn is_unique_violation(e: &sqlx::Error, index: Unique) -> bool;

    fn rows_affected(r: &Self::QueryResult) -> u64;
}

/// What a write transaction serializes on, besides SQLite's one write lock.
#[derive(Clone, Copy, Debug)]
pub(super) enum Lock<'a> {
    /// Nothing more: the transaction's statements lock what they read ([`Dialect::FOR_UPDATE`]).
    Rows,
    /// The audit log's head: one appender at a time.
    Audit,
    /// One run's event stream: one pusher at a time per run.
    RunEvents(&'a str),
}

/// A unique index or constraint, as each dialect names it in its errors.
#[derive(Clone, Copy, Debug)]
pub(super) struct Unique {
    /// PostgreSQL's constraint or index name.
    pub name: &'static str,
    /// SQLite's `table.column, …` list in "UNIQUE constraint failed: …".
    pub columns: &'static str,
}

/// The channel PostgreSQL writers announce changes on; the payload is the run id.
pub(super) const BUS_CHANNEL: &str = "ebb_bus";

/// The PostgreSQL advisory lock key audit appenders take for the transaction ("ebb.audi").
const PG_AUDIT_LOCK: i64 = 0x6562_622e_6175_6469;

/// The first key of the two-key advisory lock on a run's event stream ("ebbe"); the
/// second is the run id's hash.
const PG_RUN_EVENTS_LOCK: i32 = 0x6562_6265;

impl Dialect for Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const FOR_UPDATE: &'static str = "";
    const ANNOUNCES: bool = false;

    fn serialize(_: Lock<'_>) -> Option<Q<Self>> {
        None
    }

    fn announce(_: &str) -> Option<Q<Self>> {
        None
    }

    fn is_unique_violation(e: &sqlx::Error, index: Unique) -> bool {
        match e.as_database_error() {
            Some(db) if db.is_unique_violation() => db.message().contains(index.columns),
            _ => false,
        }
    }

    fn rows_affected(r: &Self::QueryResult) -> u64 {
        r.rows_affected()
    }
}

impl Dialect for Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const ANNOUNCES: bool = true;

    fn serialize(lock: Lock<'_>) -> Option<Q<Self>> {
        match lock {
            Lock::Rows => None,
            Lock::Audit => {
                Some(sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(PG_AUDIT_LOCK))
            }
            Lock::RunEvents(run_id) => Some(
                sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                    .bind(PG_RUN_EVENTS_LOCK)
                    .bind(run_id),
            ),
        }
    }

    fn announce(run_id: &str) -> Option<Q<Self>> {
        Some(
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(BUS_CHANNEL)
                .bind(run_id),
        )
    }

    fn is_unique_violation(e: &sqlx::Error, index: Unique) -> bool {
        match e.as_database_error() {
            Some(db) if db.is_unique_violation() => db.constraint() == Some(index.name),
            _ => false,
        }
    }

    fn rows_affected(r: &Self::QueryResult) -> u64 {
        r.rows_affected()
    }
}

/// Binds a `T` (see [`Args::arg`]).
pub(super) trait Bind<T>: Database {
    fn bind(q: Q<Self>, value: T) -> Q<Self>;
}

impl<'t, DB: Database, T> Bind<T> for DB
where
    T: 't + Encode<'t, DB> + Type<DB>,
{
    fn bind(q: Q<Self>, value: T) -> Q<Self> {
        q.bind(value)
    }
}

/// Reads a `T` from a column (see [`Col::col`]).
pub(super) trait Get<T>: Database {
    fn get(row: &Self::Row, column: &str) -> Result<T, sqlx::Error>;
}

impl<DB: Database, T> Get<T> for DB
where
    T: for<'r> Decode<'r, DB> + Type<DB>,
    for<'c> &'c str: ColumnIndex<DB::Row>,
{
    fn get(row: &Self::Row, column: &str) -> Result<T, sqlx::Error> {
        row.try_get(column)
    }
}

/// Sends statements on a connection.
pub(super) trait Exec: Database {
    fn execute(
        conn: &mut Self::Connection,
        q: Q<Self>,
    ) -> BoxFuture<'_, Result<Self::QueryResult, sqlx::Error>>;
    fn fetch_all(
        conn: &mut Self::Connection,
        q: Q<Self>,
    ) -> BoxFuture<'_, Result<Vec<Self::Row>, sqlx::Error>>;
    fn fetch_optional(
        conn: &mut Self::Connection,
        q: Q<Self>,
    ) -> BoxFuture<'_, Result<Option<Self::Row>, sqlx::Error>>;
}

impl<DB> Exec for DB
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    fn execute(
        conn: &mut Self::Connection,
        q: Q<Self>,
    ) -> BoxFuture<'_, Result<Self::QueryResult, sqlx::Error>> {
        conn.execute(q)
    }

    fn fetch_all(
        conn: &mut Self::Connection,
        q: Q<Self>,
    ) -> BoxFuture<'_, Result<Vec<Self::Row>, sqlx::Error>> {
        conn.fetch_all(q)
    }

    fn fetch_optional(
        conn: &mut Self::Connection,
        q: Q<Self>,
    ) -> BoxFuture<'_, Result<Option<Self::Row>, sqlx::Error>> {
        conn.fetch_optional(q)
    }
}

/// `query.arg(v)`: `Query::bind` for generic code (the inherent `bind` needs bounds
/// generic code cannot name once).
pub(super) trait Args<DB: Database>: Sized {
    fn arg<T>(self, value: T) -> Self
    where
        DB: Bind<T>;
}

impl<DB: Database> Args<DB> for Q<DB> {
    fn arg<T>(self, value: T) -> Self
    where
        DB: Bind<T>,
    {
        DB::bind(self, value)
    }
}

/// `row.col::<T>("name")`: `Row::try_get` for generic code.
pub(super) trait Col: Row {
    fn col<T>(&self, name: &str) -> Result<T, sqlx::Error>
    where
        Self::Database: Get<T>;
}

impl<R: Row> Col for R {
    fn col<T>(&self, name: &str) -> Result<T, sqlx::Error>
    where
        R::Database: Get<T>,
    {
        <R::Database as Get<T>>::get(self, name)
    }
}
