//! The change feed: wakes a watcher when something in the store may have changed. SQLite
//! polls `PRAGMA data_version` on a connection of its own; PostgreSQL LISTENs on `ebb_bus`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, PgPool, SqliteConnection, SqlitePool};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::StoreError;
use super::dialect::BUS_CHANNEL;

/// How often SQLite's feed reads `data_version`.
const POLL: Duration = Duration::from_millis(100);

/// `next` returns at least this often, changed or not, so callers re-check liveness; on
/// PostgreSQL it is also how often a feed whose listener lost its server polls.
const QUIET: Duration = Duration::from_secs(2);

/// A feed of "something in the store may have changed", from [`super::Store::changes`].
pub struct Changes {
    feed: Feed,
    sent: Arc<AtomicU64>,
}

enum Feed {
    Sqlite {
        /// Not from the pool: `data_version` is per connection, and changes only for
        /// commits made by other connections. None after an error, until reconnected.
        conn: Option<SqliteConnection>,
        options: Arc<SqliteConnectOptions>,
        version: i64,
    },
    Postgres {
        /// `Some(run_id)` per notification; None when the listener lost its connection
        /// (notifications may have been missed).
        rx: mpsc::UnboundedReceiver<Option<String>>,
        _listener: AbortOnDrop,
    },
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.feed {
            Feed::Sqlite { .. } => "sqlite data_version",
            Feed::Postgres { .. } => "postgres LISTEN ebb_bus",
        };
        f.debug_struct("Changes").field("feed", &kind).finish()
    }
}

/// Stops the listening task when the feed is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Changes {
    /// Waits until something may have changed, and says which run when known: on
    /// PostgreSQL the run a write announced (None when several runs did, or when
    /// notifications may have been lost); on SQLite always None. Returns None after
    /// [`QUIET`] (2 s) with no change, too.
    pub async fn next(&mut self) -> Option<String> {
        let deadline = Instant::now() + QUIET;
        match &mut self.feed {
            Feed::Sqlite {
                conn,
                options,
                version,
            } => loop {
                tokio::time::sleep(POLL).await;
                self.sent.fetch_add(1, Ordering::Relaxed);
                match data_version(conn, options).await {
                    Ok(v) if v != *version => {
                        *version = v;
                        return None;
                    }
                    Ok(_) => {}
                    // Something may have changed; the connection is made anew next poll.
                    Err(_) => {
                        *conn = None;
                        return None;
                    }
                }
                if Instant::now() >= deadline {
                    return None;
                }
            },
            Feed::Postgres { rx, .. } => {
                let first = match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(run)) => run,
                    // The listening task ended (it does not, but for the type's sake).
                    Ok(None) => {
                        tokio::time::sleep_until(deadline).await;
                        return None;
                    }
                    Err(_) => return None,
                };
                // What else is already waiting is this change too: one wake, one run
                // when they all name the same one.
                let mut run = first;
                while let Ok(more) = rx.try_recv() {
                    if more != run {
                        run = None;
                    }
                }
                run
            }
        }
    }

    pub(super) async fn sqlite(
        pool: &SqlitePool,
        sent: Arc<AtomicU64>,
    ) -> Result<Changes, StoreError> {
        let options = pool.connect_options();
        let mut conn = Some(SqliteConnection::connect_with(&options).await?);
        sent.fetch_add(1, Ordering::Relaxed);
        let version = data_version(&mut conn, &options).await?;
        Ok(Changes {
            feed: Feed::Sqlite {
                conn,
                options,
                version,
            },
            sent,
        })
    }

    pub(super) async fn postgres(
        pool: &PgPool,
        sent: Arc<AtomicU64>,
    ) -> Result<Changes, StoreError> {
        // A pool of its own (one connection, kept): the listener does not hold one of the
        // store's, and `Store::close` does not wait for it.
        let options = (*pool.connect_options()).clone();
        let own = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with(options)
            .await?;
        let mut listener = PgListener::connect_with(&own).await?;
        listener.ignore_pool_close_event(true);
        sent.fetch_add(1, Ordering::Relaxed);
        listener.listen(BUS_CHANNEL).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(listen(listener, tx, sent.clone()));
        Ok(Changes {
            feed: Feed::Postgres {
                rx,
                _listener: AbortOnDrop(task),
            },
            sent,
        })
    }
}

/// `PRAGMA data_version` on the feed's connection, connecting first when it has none.
async fn data_version(
    conn: &mut Option<SqliteConnection>,
    options: &SqliteConnectOptions,
) -> Result<i64, sqlx::Error> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(SqliteConnection::connect_with(options).await?),
    };
    sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(&mut *c)
        .await
}

/// Forwards notifications until the feed is dropped. A lost connection is reported as
/// None (the listener reconnects and LISTENs again); while reconnecting fails, a None
/// every [`QUIET`] keeps watchers polling.
async fn listen(
    mut listener: PgListener,
    tx: mpsc::UnboundedSender<Option<String>>,
    sent: Arc<AtomicU64>,
) {
    loop {
        let msg = match listener.try_recv().await {
            Ok(Some(n)) => Some(n.payload().to_string()),
            Ok(None) => {
                sent.fetch_add(1, Ordering::Relaxed); // LISTEN again
                None
            }
            Err(_) => {
                if tx.send(None).is_err() {
                    return;
                }
                tokio::time::sleep(QUIET).await;
                continue;
            }
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}
