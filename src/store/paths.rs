//! Where the default store lives and how `--store`/`EBB_STORE` pick another one.
//! `$XDG_STATE_HOME/ebb/ebb.db`, else `~/.local/state/ebb/ebb.db`; the directory is 0700.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::StoreError;

/// The default store file. A relative `XDG_STATE_HOME` is ignored, as the XDG spec says.
pub fn default_path() -> Result<PathBuf, StoreError> {
    default_path_from(
        std::env::var_os("XDG_STATE_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

fn default_path_from(
    xdg_state_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Result<PathBuf, StoreError> {
    let base = match (xdg_state_home, home) {
        (Some(x), _) if x.is_absolute() => x,
        (_, Some(h)) if !h.as_os_str().is_empty() => h.join(".local").join("state"),
        _ => return Err(StoreError::NoStateDir),
    };
    Ok(base.join("ebb").join("ebb.db"))
}

/// The store spec to open: the `--store` flag, else `EBB_STORE`, else the default path
/// (or, with no state directory at all, `ebb.db` in the working directory).
pub fn spec_from_env(flag: Option<&str>) -> String {
    if let Some(f) = flag.filter(|f| !f.is_empty()) {
        return f.to_string();
    }
    match std::env::var("EBB_STORE") {
        Ok(s) if !s.is_empty() => s,
        _ => default_path()
            .unwrap_or_else(|_| PathBuf::from("ebb.db"))
            .to_string_lossy()
            .into_owned(),
    }
}

/// "cannot open the store SPEC: why", with any password in SPEC or in why redacted.
pub fn open_failed(spec: &str, e: &StoreError) -> String {
    let text = match e {
        // Already names the store.
        StoreError::Open { .. } => e.to_string(),
        _ => format!("cannot open the store {spec}: {e}"),
    };
    crate::redact::redact_str(&text).into_owned()
}

/// Creates the directory holding `db` (mode 0700 for what it creates).
pub(super) fn create_state_dir(db: &Path) -> Result<(), StoreError> {
    let Some(dir) = db.parent() else {
        return Ok(());
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StoreError::StateDir {
            path: dir.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_prefers_absolute_xdg_state_home() {
        let p = default_path_from(Some("/s".into()), Some("/h".into())).unwrap();
        assert_eq!(p, PathBuf::from("/s/ebb/ebb.db"));
        let p = default_path_from(Some("rel".into()), Some("/h".into())).unwrap();
        assert_eq!(p, PathBuf::from("/h/.local/state/ebb/ebb.db"));
        assert!(default_path_from(None, None).is_err());
    }

    #[test]
    fn state_dir_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("a/ebb/ebb.db");
        create_state_dir(&db).unwrap();
        let mode = std::fs::metadata(db.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
