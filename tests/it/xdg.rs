//! XDG base directories through the real binary: a relative `XDG_*_HOME` is ignored (the
//! audit key, the default store and the logs land under `$HOME`), and no absolute HOME is
//! reported, never turned into files under the working directory.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// `ebb ARGS` in `cwd`, with exactly the XDG variables and HOME given (no EBB_STORE).
fn ebb(cwd: &Path, home: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ebb"));
    c.current_dir(cwd)
        .args(args)
        .env("XDG_CONFIG_HOME", "relative/config")
        .env("XDG_STATE_HOME", "relative/state")
        .env_remove("EBB_STORE")
        .env_remove("EBB_LOG_FILES");
    match home {
        Some(h) => c.env("HOME", h),
        None => c.env_remove("HOME"),
    };
    c.output().unwrap()
}

/// stderr as one line of words (miette wraps and frames long messages).
fn flat(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .split_whitespace()
        .filter(|w| !["│", "×"].contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn relative_xdg_homes_are_ignored_for_home() {
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();

    let out = ebb(cwd.path(), Some(home.path()), &["audit", "keygen"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let key = home.path().join(".config/ebb/audit.key");
    assert!(
        stderr.contains(&format!("wrote {}", key.display())),
        "{stderr}"
    );
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // The logs went to the state dir under HOME too.
    let logs = home.path().join(".local/state/ebb/logs");
    assert!(
        entries(&logs).iter().any(|n| n.starts_with("ebb.log.")),
        "{:?}",
        entries(&logs)
    );

    let out = ebb(cwd.path(), Some(home.path()), &["runs", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(home.path().join(".local/state/ebb/ebb.db").exists());

    // Nothing under the working directory, where the relative paths point.
    assert_eq!(entries(cwd.path()), Vec::<String>::new());
}

#[test]
fn no_absolute_home_is_reported_clearly() {
    let cwd = tempfile::tempdir().unwrap();
    let out = ebb(cwd.path(), None, &["audit", "keygen"]);
    let stderr = flat(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "no place for the audit key: no config directory: XDG_CONFIG_HOME is a relative \
             path and HOME is unset; set one of them to an absolute path"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: no diagnostic log (no state directory: XDG_STATE_HOME is"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(entries(cwd.path()), Vec::<String>::new());

    let relative_home = cwd.path().join("h");
    std::fs::create_dir(&relative_home).unwrap();
    let out = ebb(cwd.path(), Some(Path::new("h")), &["audit", "keygen"]);
    let stderr = flat(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("HOME is a relative path"), "{stderr}");
    assert_eq!(entries(&relative_home), Vec::<String>::new());
}

#[test]
fn with_no_state_dir_the_store_fallback_is_announced() {
    let cwd = tempfile::tempdir().unwrap();
    let out = ebb(cwd.path(), None, &["runs", "list"]);
    let stderr = flat(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "warning: no state directory: XDG_STATE_HOME is a relative path and HOME is unset; \
             set one of them to an absolute path; using ebb.db in the working directory"
        ),
        "{stderr}"
    );
    assert!(cwd.path().join("ebb.db").exists());
}
