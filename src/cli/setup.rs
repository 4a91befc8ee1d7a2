//! What most commands do first: a runtime on this thread, and the store opened with an
//! error that names it (never its password).

use miette::Report;

use crate::store::Store;

/// A current-thread tokio runtime (a command's work is one task and what it spawns).
pub fn runtime() -> Result<tokio::runtime::Runtime, Report> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| miette::miette!("cannot start the runtime: {e}"))
}

/// Opens the store at `spec` (a SQLite path or a postgres:// URL, migrated); the error
/// names the store as `open_failed` does, without credentials.
pub async fn open_store(spec: &str) -> Result<Store, Report> {
    Store::open(spec)
        .await
        .map_err(|e| miette::miette!("{}", crate::store::open_failed(spec, &e)))
}
