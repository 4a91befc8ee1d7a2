//! Where the default store lives and how `--store`/`EBB_STORE` pick another one.
//! `$XDG_STATE_HOME/ebb/ebb.db`, else `~/.local/state/ebb/ebb.db`; the directory is 0700.

use std::ffi::OsString;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::StoreError;
use crate::xdg::{self, BaseDir};

/// The default store file, `<state dir>/ebb/ebb.db` by the rule of [`crate::xdg`].
pub fn default_path() -> Result<PathBuf, StoreError> {
    default_path_with(|name| std::env::var_os(name))
}

fn default_path_with(get: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, StoreError> {
    Ok(xdg::ebb_dir_with(BaseDir::State, get)?.join("ebb.db"))
}

/// The store spec to open: the `--store` flag, else `EBB_STORE`, else the default path,
/// or an error when there is no state directory to hold it.
pub fn store_spec(flag: Option<&str>) -> Result<String, StoreError> {
    spec_with(flag, |name| std::env::var_os(name))
}

fn spec_with(
    flag: Option<&str>,
    get: impl Fn(&str) -> Option<OsString>,
) -> Result<String, StoreError> {
    if let Some(f) = flag.filter(|f| !f.is_empty()) {
        return Ok(f.to_string());
    }
    if let Some(s) = get("EBB_STORE")
        .and_then(|s| s.into_string().ok())
        .filter(|s| !s.is_empty())
    {
        return Ok(s);
    }
    Ok(default_path_with(get)?.to_string_lossy().into_owned())
}

/// [`store_spec`], except that with no state directory at all it warns on stderr and names
/// `ebb.db` in the working directory (as it always has) rather than failing.
pub fn spec_from_env(flag: Option<&str>) -> String {
    store_spec(flag).unwrap_or_else(|e| {
        eprintln!("ebb: warning: {e}; using ebb.db in the working directory");
        FALLBACK_STORE.to_string()
    })
}

/// The store file used when there is no state directory.
const FALLBACK_STORE: &str = "ebb.db";

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

    use crate::xdg::fixed_env as env;

    #[test]
    fn the_default_store_is_in_the_state_dir() {
        let p = default_path_with(env(&[("XDG_STATE_HOME", "/s"), ("HOME", "/h")])).unwrap();
        assert_eq!(p, PathBuf::from("/s/ebb/ebb.db"));
        let p = default_path_with(env(&[("XDG_STATE_HOME", "rel"), ("HOME", "/h")])).unwrap();
        assert_eq!(p, PathBuf::from("/h/.local/state/ebb/ebb.db"));
        // A relative HOME names no state directory (it used to name one under the cwd).
        let e = default_path_with(env(&[("HOME", "h")])).unwrap_err();
        assert!(matches!(e, StoreError::NoStateDir(_)), "{e}");
        assert!(e.to_string().contains("XDG_STATE_HOME is unset"), "{e}");
    }

    #[test]
    fn the_spec_is_the_flag_then_ebb_store_then_the_default() {
        let vars = [("EBB_STORE", "postgres://h/db"), ("HOME", "/h")];
        assert_eq!(spec_with(Some("x.db"), env(&vars)).unwrap(), "x.db");
        assert_eq!(spec_with(None, env(&vars)).unwrap(), "postgres://h/db");
        assert_eq!(spec_with(Some(""), env(&vars)).unwrap(), "postgres://h/db");
        let vars = [("EBB_STORE", ""), ("HOME", "/h")];
        assert_eq!(
            spec_with(None, env(&vars)).unwrap(),
            "/h/.local/state/ebb/ebb.db"
        );
        assert!(spec_with(None, env(&[])).is_err());
        assert_eq!(spec_with(Some("x.db"), env(&[])).unwrap(), "x.db");
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
