//! Opening the PostgreSQL store, for a team sharing runs: TLS as every ebb connection,
//! `synchronous_commit` and `fsync` read back, migrations; the queries are dialect-generic.

use sqlx::PgConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::{Durability, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/postgres");

/// How long opening the store may take to reach its server: a refused or silent port is
/// reported in seconds, not after the pool's retries.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub(super) async fn open(
    spec: &str,
    max_connections: u32,
) -> Result<(PgPool, Durability), StoreError> {
    use sqlx::Connection;
    let open_err = |source| StoreError::Open {
        spec: redact(spec),
        source,
    };
    // TLS (sslmode, sslrootcert, client certificates, PGSSL*) and application_name as
    // for every PostgreSQL connection ebb makes.
    let options = crate::pg_options::from_url(spec).map_err(open_err)?;
    // One plain attempt first: its error is the real one (refused, auth, no database).
    let first = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
        .await
        .map_err(|_| {
            open_err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
            )))
        })?
        .map_err(open_err)?;
    let _ = first.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .idle_timeout(std::time::Duration::from_secs(60))
        .connect_with(options)
        .await
        .map_err(open_err)?;
    let durability = read_back(&pool).await?;
    MIGRATOR.run(&pool).await?;
    Ok((pool, durability))
}

/// `postgres://host:port/dbname`: no user, no password, no parameters.
pub(super) fn identity(spec: &str) -> String {
    use std::str::FromStr;
    match sqlx::postgres::PgConnectOptions::from_str(spec) {
        Ok(o) => format!(
            "postgres://{}:{}/{}",
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or(o.get_username())
        ),
        Err(_) => redact(spec),
    }
}

/// The URL without its password, for messages.
fn redact(spec: &str) -> String {
    match (spec.find("://"), spec.rfind('@')) {
        (Some(s), Some(at)) if at > s => match spec[s + 3..at].find(':') {
            Some(colon) => format!("{}:***{}", &spec[..s + 3 + colon], &spec[at..]),
            None => spec.to_string(),
        },
        _ => spec.to_string(),
    }
}

/// A commit must reach this server's disk before it returns: `synchronous_commit` may be
/// anything but `off` (`local`, `on`, `remote_write`, `remote_apply`), and `fsync` on.
async fn read_back(pool: &PgPool) -> Result<Durability, StoreError> {
    let synchronous: String = sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
        .fetch_one(pool)
        .await?;
    let fsync: String = sqlx::query_scalar("SELECT current_setting('fsync')")
        .fetch_one(pool)
        .await?;
    if synchronous == "off" {
        return Err(StoreError::NotDurable {
            setting: "synchronous_commit",
            found: synchronous,
            expected: "on",
        });
    }
    if fsync != "on" {
        return Err(StoreError::NotDurable {
            setting: "fsync",
            found: fsync,
            expected: "on",
        });
    }
    Ok(Durability {
        backend: "postgres",
        journal_mode: "wal".to_string(),
        synchronous,
    })
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
