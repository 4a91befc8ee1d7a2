//! Diagnostics: tracing to a daily-rolling file under `$XDG_STATE_HOME/ebb/logs`, never to
//! the terminal (the TUI owns it). The returned guard lives in `main` and flushes on exit.

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// `$XDG_STATE_HOME/ebb/logs`, or `~/.local/state/ebb/logs`.
pub fn log_dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("ebb").join("logs"))
}

/// Starts file logging (filter from `EBB_LOG`, default `info`). Returns `None`, after a
/// one-line warning on stderr, when the directory cannot be made: ebb runs without logs.
pub fn init() -> Option<WorkerGuard> {
    let dir = log_dir()?;
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("ebb: warning: no diagnostic log ({}: {e})", dir.display());
        return None;
    }
    let appender = tracing_appender::rolling::daily(&dir, "ebb.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("EBB_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
    if installed.is_err() {
        return None;
    }
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        "ebb started"
    );
    Some(guard)
}
