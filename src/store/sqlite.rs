//! Opening the SQLite store: one file created 0600, WAL with `synchronous=FULL` (set and
//! read back), migrations; the queries are the dialect-generic ones (`runs`, `audit`, `bus`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{Durability, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");

/// How long a writer waits for another (process or connection) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn open(spec: &str) -> Result<(SqlitePool, Durability), StoreError> {
    let open_err = |source| StoreError::Open {
        spec: spec.to_string(),
        source,
    };
    if let Err(e) = create_private(spec) {
        return Err(open_err(sqlx::Error::Io(e)));
    }
    let options = if spec.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(spec).map_err(open_err)?
    } else {
        SqliteConnectOptions::new().filename(spec)
    };
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(open_err)?;

    let durability = read_back(&pool).await?;
    MIGRATOR.run(&pool).await?;
    Ok((pool, durability))
}

/// The database file a spec names (a plain path, or a `sqlite:` URL's file).
fn file_of(spec: &str) -> std::path::PathBuf {
    if spec.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(spec)
            .map(|o| o.get_filename().to_path_buf())
            .unwrap_or_else(|_| spec.into())
    } else {
        std::path::PathBuf::from(spec)
    }
}

/// `sqlite:` and the file's canonical path.
pub(super) fn identity(spec: &str) -> String {
    let path = file_of(spec);
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    format!("sqlite:{}", path.display())
}

/// Creates a missing database file 0600 before SQLite does (with the umask); its WAL and
/// shared-memory files take the database file's mode. An existing file is left as it is.
fn create_private(spec: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    // In-memory and read-only databases have no file to create.
    if [":memory:", "mode=memory", "mode=ro"]
        .iter()
        .any(|m| spec.contains(m))
    {
        return Ok(());
    }
    let path = file_of(spec);
    if path.as_os_str().is_empty() {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Reads the pragmas back and refuses to run on a store that did not take them
/// (an in-memory database, say, cannot be WAL).
async fn read_back(pool: &SqlitePool) -> Result<Durability, StoreError> {
    let mut conn = pool.acquire().await?;
    let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await?;
    let synchronous = match synchronous {
        0 => "off".to_string(),
        1 => "normal".to_string(),
        2 => "full".to_string(),
        3 => "extra".to_string(),
        n => n.to_string(),
    };
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NotDurable {
            setting: "PRAGMA journal_mode",
            found: journal_mode,
            expected: "wal",
        });
    }
    if synchronous != "full" && synchronous != "extra" {
        return Err(StoreError::NotDurable {
            setting: "PRAGMA synchronous",
            found: synchronous,
            expected: "full (2)",
        });
    }
    Ok(Durability {
        backend: "sqlite",
        journal_mode: journal_mode.to_ascii_lowercase(),
        synchronous,
    })
}
