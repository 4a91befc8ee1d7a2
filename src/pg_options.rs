//! How ebb connects to PostgreSQL, everywhere (sources, steps and checks, the store): as
//! psql does, from a URL and the libpq environment, and named `ebb` in pg_stat_activity.
//!
//! sqlx reads what libpq reads: the URL's `sslmode` (disable, prefer, require, verify-ca,
//! verify-full), `sslrootcert`, `sslcert`, `sslkey`, and for what the URL leaves out PGHOST,
//! PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY
//! and ~/.pgpass (or PGPASSFILE). TLS is rustls, with the system's roots plus `sslrootcert`.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

/// The `application_name` of every connection ebb opens, so a DBA can find them.
pub const APPLICATION_NAME: &str = "ebb";

/// Options from a `postgres://` URL; what it leaves out comes from the libpq environment.
/// The error may quote the URL: redact it before showing it.
pub fn from_url(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    let root_cert = url_has_root_cert(url) || env_has_root_cert();
    Ok(as_libpq(options, root_cert))
}

/// Options from the libpq environment alone, as `psql` with no arguments.
pub fn from_env() -> PgConnectOptions {
    as_libpq(PgConnectOptions::new(), env_has_root_cert())
}

/// libpq's one rule sqlx leaves out: with a root certificate named, `sslmode=require`
/// verifies the server's chain, as `verify-ca` does. And ebb's name on the session.
fn as_libpq(options: PgConnectOptions, root_cert: bool) -> PgConnectOptions {
    let options = if root_cert && matches!(options.get_ssl_mode(), PgSslMode::Require) {
        options.ssl_mode(PgSslMode::VerifyCa)
    } else {
        options
    };
    options.application_name(APPLICATION_NAME)
}

/// Whether the URL's query names a root certificate (sqlx's spellings included).
fn url_has_root_cert(url: &str) -> bool {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or("");
    query.split('&').any(|pair| {
        let key = pair.split('=').next().unwrap_or("");
        matches!(key, "sslrootcert" | "ssl-root-cert" | "ssl-ca")
    })
}

fn env_has_root_cert() -> bool {
    std::env::var_os("PGSSLROOTCERT").is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_with_a_root_certificate_verifies_the_chain_as_libpq_does() {
        let o = from_url("postgres://ebb@db/orders?sslmode=require&sslrootcert=/ca.pem").unwrap();
        assert!(matches!(o.get_ssl_mode(), PgSslMode::VerifyCa));
        let o =
            from_url("postgres://ebb@db/orders?sslmode=verify-full&sslrootcert=/ca.pem").unwrap();
        assert!(matches!(o.get_ssl_mode(), PgSslMode::VerifyFull));
        assert_eq!(o.get_application_name(), Some(APPLICATION_NAME));
    }

    #[test]
    fn the_url_names_a_root_certificate_only_in_its_query() {
        assert!(url_has_root_cert("postgres://h/db?a=1&sslrootcert=x"));
        assert!(url_has_root_cert("postgres://h/db?ssl-ca=x"));
        assert!(!url_has_root_cert("postgres://sslrootcert@h/db"));
        assert!(!url_has_root_cert("postgres://h/db?sslmode=require"));
    }
}
