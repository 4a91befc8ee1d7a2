//! Diagnostics: tracing to a daily-rolling file under `$XDG_STATE_HOME/ebb/logs`, never to
//! the terminal (the TUI owns it). The returned guard lives in `main` and flushes on exit.
//!
//! The state directory and `logs/` are made 0700 before anything is written, each day's
//! file is created 0600, and only the newest [`KEEP_LOG_FILES`] (or `EBB_LOG_FILES`) are kept.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// Daily files kept by default.
pub const KEEP_LOG_FILES: usize = 14;
const PREFIX: &str = "ebb.log";

/// `$XDG_STATE_HOME/ebb/logs`, or `~/.local/state/ebb/logs` (the rule of [`crate::xdg`]).
pub fn log_dir() -> Option<PathBuf> {
    log_dir_or_why().ok()
}

fn log_dir_or_why() -> Result<PathBuf, crate::xdg::NoBaseDir> {
    Ok(crate::xdg::ebb_dir(crate::xdg::BaseDir::State)?.join("logs"))
}

/// Creates `dir` and its missing parents 0700, and takes group and other access away from
/// `dir` and its parent (the state directory) when they exist already.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    for d in [Some(dir), dir.parent()].into_iter().flatten() {
        let meta = std::fs::metadata(d)?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 && is_ours(&meta) {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    Ok(())
}

fn is_ours(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.uid() == nix::unistd::getuid().as_raw()
}

/// Starts file logging (filter from `EBB_LOG`, default `info`). Returns `None`, after a
/// one-line warning on stderr, when the directory cannot be named or made: ebb runs
/// without logs.
pub fn init() -> Option<WorkerGuard> {
    let dir = match log_dir_or_why() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("ebb: warning: no diagnostic log ({e})");
            return None;
        }
    };
    if let Err(e) = private_dir(&dir) {
        eprintln!("ebb: warning: no diagnostic log ({}: {e})", dir.display());
        return None;
    }
    let keep = std::env::var("EBB_LOG_FILES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(KEEP_LOG_FILES);
    // Today's file first, so the appender opens (appends to) a private one.
    let mut private = PrivateDaily {
        dir: dir.clone(),
        day: String::new(),
    };
    private.ensure_today();
    let appender = match RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(PREFIX)
        .max_log_files(keep)
        .build(&dir)
    {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ebb: warning: no diagnostic log ({}: {e})", dir.display());
            return None;
        }
    };
    let (writer, guard) = tracing_appender::non_blocking(PrivateWriter {
        inner: appender,
        private,
    });
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

/// Creates each day's file 0600 before the appender rolls over to it (it opens files to
/// append, keeping the mode they were created with).
struct PrivateDaily {
    dir: PathBuf,
    day: String,
}

impl PrivateDaily {
    fn ensure_today(&mut self) {
        // The appender names files by the UTC date: `ebb.log.YYYY-MM-DD`.
        let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let day = now.get(..10).unwrap_or_default();
        if day == self.day {
            return;
        }
        self.day = day.to_string();
        let path = self.dir.join(format!("{PREFIX}.{day}"));
        let _ = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path);
    }
}

struct PrivateWriter {
    inner: RollingFileAppender,
    private: PrivateDaily,
}

impl Write for PrivateWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.private.ensure_today();
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
