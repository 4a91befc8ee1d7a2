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

/// Runs `ebb ARGS… FILE` and gives its exit code and stderr, killing it after a generous
/// deadline (a FIFO used to block every command forever).
fn ebb_on(home: &Path, args: &[&str], file: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ebb"))
        .args(args)
        .arg(file)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("EBB_STORE", home.join("ebb.db"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.code(), err);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ebb {args:?} {} did not return", file.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn every_input_file_must_be_a_regular_file_of_at_most_4_mib() {
    let home = tempfile::tempdir().unwrap();
    let fifo = home.path().join("plan.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let big = home.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; 4 * 1024 * 1024 + 1]).unwrap();
    let commands: [&[&str]; 5] = [
        &["plan", "check"],
        &["drill", "--scenario"],
        &["drill", "--theme"],
        &["drill", "--keymap"],
        &["console", "--config"],
    ];
    for args in commands {
        for (file, says) in [
            (
                Path::new("/dev/zero"),
                "is a character device, not a regular file",
            ),
            (fifo.as_path(), "is a FIFO, not a regular file"),
            (big.as_path(), "larger than 4194304 bytes"),
        ] {
            let (code, err) = ebb_on(home.path(), args, file);
            // miette wraps long messages: read them as one line.
            let err = err
                .replace('│', " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                matches!(code, Some(1 | 2)),
                "{args:?} {}: {code:?} {err}",
                file.display()
            );
            assert!(err.contains(says), "{args:?} {}: {err}", file.display());
        }
    }
}
