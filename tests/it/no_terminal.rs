//! A console command with no terminal (a pipe, cron, CI) says so, names what to use
//! instead, exits 2, and writes nothing to stdout: it never draws into a pipe.

use std::process::Stdio;

use crate::support::headless::{ebb, flat};

#[test]
fn console_commands_without_a_terminal_name_headless_and_draw_nothing() {
    let home = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["drill"], "--headless"),
        (
            &["run", "tests/fixtures/crash-plan.toml", "--drill"],
            "--headless",
        ),
        (&["resume", "r-nothing"], "--headless"),
        (&["attach", "r-nothing"], "ebb attach RUN --headless"),
        (&["watch", "r-nothing"], "ebb watch RUN --headless"),
    ];
    for (args, hint) in cases {
        // stdout a pipe (stdin a pipe too): both are named.
        let out = ebb(home.path())
            .args(args)
            .stdin(Stdio::piped())
            .output()
            .unwrap();
        let err = flat(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{args:?} drew into a pipe: {:?}",
            out.stdout
        );
        assert!(
            err.contains("needs a terminal") && err.contains("stdin and stdout are not terminals"),
            "{args:?}: {err}"
        );
        assert!(err.contains(hint), "{args:?} does not name {hint}: {err}");
    }
    // Nothing was started: no run is in the store.
    let runs = ebb(home.path())
        .args(["runs", "list", "--json"])
        .output()
        .unwrap();
    assert!(
        runs.stdout.starts_with(b"[]"),
        "{}",
        String::from_utf8_lossy(&runs.stdout)
    );
}
