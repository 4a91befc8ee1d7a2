//! Files a bastion can trust: the state directory, the store and the logs are private
//! whatever the umask, and daily logs are capped.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `ebb ARGS…` in a fresh HOME with the default store, under a permissive umask.
fn ebb_open_umask(home: &Path, args: &[&str]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ebb"));
    c.args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("EBB_STORE")
        .env_remove("EBB_LOG_FILES");
    // SAFETY: umask is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        c.pre_exec(|| {
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o002));
            Ok(())
        });
    }
    c.output().unwrap()
}

#[test]
fn state_directory_store_and_logs_are_private_and_logs_are_capped() {
    let home = tempfile::tempdir().unwrap();
    let logs = home.path().join("state/ebb/logs");
    // Twenty old days' logs, as a long-lived bastion would have.
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::set_permissions(
        home.path().join("state/ebb"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    for d in 1..=20 {
        std::fs::write(logs.join(format!("ebb.log.2020-01-{d:02}")), "old\n").unwrap();
    }
    let out = ebb_open_umask(home.path(), &["runs", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(mode(&home.path().join("state/ebb")), 0o700);
    assert_eq!(mode(&logs), 0o700);
    let db = home.path().join("state/ebb/ebb.db");
    assert_eq!(mode(&db), 0o600);
    for ext in ["ebb.db-wal", "ebb.db-shm"] {
        let p = home.path().join("state/ebb").join(ext);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{ext}");
        }
    }
    let files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        files.len() <= 14,
        "{} log files kept: {files:?}",
        files.len()
    );
    let today = files
        .iter()
        .find(|f| !f.to_string_lossy().contains("2020-01"))
        .expect("today's log");
    assert_eq!(mode(today), 0o600, "{}", today.display());
}
