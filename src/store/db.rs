//! How the store's operations send statements: a pool and the store's statement counter,
//! write transactions that serialize and announce as the dialect says, every statement counted.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Pool, SqlSafeStr, Transaction};

use super::dialect::{Dialect, Lock, Q};

/// A pool and the counter every statement sent on it adds one to (`Store::statements`).
pub(super) struct Db<'s, DB: Dialect> {
    pool: &'s Pool<DB>,
    sent: &'s AtomicU64,
}

impl<'s, DB: Dialect> Db<'s, DB> {
    pub(super) fn new(pool: &'s Pool<DB>, sent: &'s AtomicU64) -> Self {
        Db { pool, sent }
    }

    fn count(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection of the pool, for several statements in a row.
    pub(super) async fn conn(&self) -> Result<PoolConnection<DB>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// One statement on the pool; the rows it changed.
    pub(super) async fn execute(&self, q: Q<DB>) -> Result<u64, sqlx::Error> {
        let mut conn = self.conn().await?;
        self.execute_on(&mut conn, q).await
    }

    pub(super) async fn fetch_all(&self, q: Q<DB>) -> Result<Vec<DB::Row>, sqlx::Error> {
        let mut conn = self.conn().await?;
        self.fetch_all_on(&mut conn, q).await
    }

    pub(super) async fn fetch_optional(&self, q: Q<DB>) -> Result<Option<DB::Row>, sqlx::Error> {
        let mut conn = self.conn().await?;
        self.fetch_optional_on(&mut conn, q).await
    }

    pub(super) async fn execute_on(
        &self,
        conn: &mut DB::Connection,
        q: Q<DB>,
    ) -> Result<u64, sqlx::Error> {
        self.count();
        let done = DB::execute(conn, q).await?;
        Ok(DB::rows_affected(&done))
    }

    pub(super) async fn fetch_all_on(
        &self,
        conn: &mut DB::Connection,
        q: Q<DB>,
    ) -> Result<Vec<DB::Row>, sqlx::Error> {
        self.count();
        DB::fetch_all(conn, q).await
    }

    pub(super) async fn fetch_optional_on(
        &self,
        conn: &mut DB::Connection,
        q: Q<DB>,
    ) -> Result<Option<DB::Row>, sqlx::Error> {
        self.count();
        DB::fetch_optional(conn, q).await
    }

    /// Exactly one row (`RowNotFound` otherwise, as sqlx's `fetch_one`).
    pub(super) async fn fetch_one_on(
        &self,
        conn: &mut DB::Connection,
        q: Q<DB>,
    ) -> Result<DB::Row, sqlx::Error> {
        self.fetch_optional_on(conn, q)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// Begins a write transaction serialized on `lock` (see [`Dialect::serialize`]).
    pub(super) async fn begin_write<'c>(
        &self,
        conn: &'c mut DB::Connection,
        lock: Lock<'_>,
    ) -> Result<Transaction<'c, DB>, sqlx::Error> {
        self.count();
        // An owned SqlStr: a `&'static str` argument would be captured in the future, and
        // proving that future Send from generic callers trips over its lifetime.
        let mut tx = conn.begin_with(DB::BEGIN_WRITE.into_sql_str()).await?;
        if let Some(q) = DB::serialize(lock) {
            self.execute_on(&mut tx, q).await?;
        }
        Ok(tx)
    }

    pub(super) async fn commit(&self, tx: Transaction<'_, DB>) -> Result<(), sqlx::Error> {
        self.count();
        tx.commit().await
    }

    /// Drops `tx`: the driver rolls it back (one more statement).
    pub(super) fn abandon(&self, tx: Transaction<'_, DB>) {
        self.count();
        drop(tx);
    }

    /// Announces, inside the transaction on `conn`, that `run_id` changed (delivered when
    /// it commits). Nothing on a dialect without notifications.
    pub(super) async fn announce_on(
        &self,
        conn: &mut DB::Connection,
        run_id: &str,
    ) -> Result<(), sqlx::Error> {
        if let Some(q) = DB::announce(run_id) {
            self.execute_on(conn, q).await?;
        }
        Ok(())
    }

    /// Where a write that announces itself runs: a transaction where the dialect
    /// announces (so the notification goes with the commit), the connection itself
    /// where it does not (a single statement needs no transaction there).
    pub(super) async fn begin_announced<'c>(
        &self,
        conn: &'c mut DB::Connection,
    ) -> Result<Announced<'c, DB>, sqlx::Error> {
        if !DB::ANNOUNCES {
            return Ok(Announced::Plain(conn));
        }
        Ok(Announced::Tx(self.begin_write(conn, Lock::Rows).await?))
    }

    /// Announces `run_id` (when Some) and commits what `begin_announced` began.
    pub(super) async fn finish(
        &self,
        w: Announced<'_, DB>,
        run_id: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        match w {
            Announced::Plain(_) => Ok(()),
            Announced::Tx(mut tx) => {
                if let Some(run_id) = run_id {
                    self.announce_on(&mut tx, run_id).await?;
                }
                self.commit(tx).await
            }
        }
    }
}

/// A write in progress from [`Db::begin_announced`]; derefs to its connection.
pub(super) enum Announced<'c, DB: Dialect> {
    Plain(&'c mut DB::Connection),
    Tx(Transaction<'c, DB>),
}

impl<DB: Dialect> Deref for Announced<'_, DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match self {
            Announced::Plain(c) => c,
            Announced::Tx(tx) => tx,
        }
    }
}

impl<DB: Dialect> DerefMut for Announced<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Announced::Plain(c) => c,
            Announced::Tx(tx) => tx,
        }
    }
}
