//! Bounded inputs and faults survived, through the real binary: a huge `--at` is refused,
//! a store's password never reaches an error, a refused store says so, and a headless run
//! whose audit log cannot be opened starts nothing.

use std::net::TcpListener;

use crate::support::headless::{ebb, flat, runs};

#[test]
fn a_huge_screenshot_at_is_refused_with_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let out = ebb(dir.path())
        .args(["screenshot", "--at", "10000000", "-o"])
        .arg(dir.path().join("x.svg"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = flat(&out.stderr);
    assert!(err.contains("10000000 is not in 0..=86400"), "{err}");
    assert!(!dir.path().join("x.svg").exists());
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn a_store_password_never_reaches_an_error_and_a_refusal_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://u:Sup3rSecret@127.0.0.1:{}/ebb", closed_port());
    let runs_list = |flag: bool| {
        let mut c = ebb(dir.path());
        c.args(["runs", "list"]);
        if flag {
            c.args(["--store", &url]);
        } else {
            c.env("EBB_STORE", &url);
        }
        c.output().unwrap()
    };
    for flag in [true, false] {
        let out = runs_list(flag);
        assert!(!out.status.success());
        let err = flat(&out.stderr);
        assert!(!err.contains("Sup3rSecret"), "{err}");
        assert!(err.contains("cannot open the store postgres://u:"), "{err}");
        // The real reason, from one plain attempt, not the pool's timeout after retries.
        assert!(err.to_lowercase().contains("refused"), "{err}");
    }
    let out = ebb(dir.path())
        .args(["audit", "verify", "--store", &url])
        .output()
        .unwrap();
    assert!(!flat(&out.stderr).contains("Sup3rSecret"));
}

#[test]
fn a_headless_run_without_an_audit_log_prints_audit_down_and_starts_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("config/ebb/audit.key");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    std::fs::write(&key, "00".repeat(32)).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = ebb(dir.path())
        .args([
            "run",
            "tests/fixtures/crash-plan.toml",
            "--headless",
            "--yes",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{stdout}");
    assert!(
        stdout.starts_with("AUDIT DOWN: audit key") && stdout.contains("chmod 600"),
        "{stdout}"
    );
    assert_eq!(runs(dir.path()), Vec::<serde_json::Value>::new());
}
