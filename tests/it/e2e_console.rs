//! End to end: the real `ebb console --config` in a pseudo-terminal, watching the test
//! primary and its standby; then the primary stops and the screen says so, still answering.

use super::e2e::Console;
use super::support::pg::PgCluster;

const HELP_TITLE: &str = "Keys · keymap";

/// A targets file: the primary's URL from a file, the standby's from the environment.
fn write_config(dir: &std::path::Path, c: &PgCluster) {
    let secret = dir.join("db-url");
    std::fs::write(&secret, format!("{}\n", c.primary_url("postgres"))).unwrap();
    let config = dir.join("console.toml");
    std::fs::write(
        &config,
        format!(
            "[console]\ninterval = \"500ms\"\ntimeout = \"2s\"\n\n\
             [targets.db]\nkind = \"postgres\"\nurl = \"file:{}\"\n\n\
             [targets.db-standby]\nkind = \"postgres\"\nurl = \"env:EBB_TEST_STANDBY_URL\"\n",
            secret.display()
        ),
    )
    .unwrap();
}

#[test]
fn console_watches_a_primary_and_its_standby_and_shows_the_primary_going_down() {
    let c = PgCluster::start_with_standby();
    let standby = c.standby_url("postgres");
    // The config is written into the console's own HOME, its working directory.
    let mut console = Console::spawn_with(
        &["console", "--config", "console.toml"],
        &[("EBB_TEST_STANDBY_URL", &standby)],
        |home| write_config(home, &c),
    );
    console.wait_for(
        "both targets, the standby streaming and idle, the database size",
        |s| {
            let t = s.contents();
            t.contains("▸ db · primary")
                && t.contains("▸ db-standby · standby of")
                && t.lines().any(|l| {
                    l.contains("◌ db-standby") && l.contains("streaming") && l.contains("idle")
                })
                && t.lines()
                    .any(|l| l.contains("postgres") && l.contains("size") && l.contains("MiB"))
        },
    );

    c.stop_primary();
    console.wait_for(
        "the primary's error and the age of its last good figures",
        |s| {
            let t = s.contents();
            t.contains("✖ db · last good") && t.contains("SOURCE DOWN")
        },
    );
    // The standby's own source keeps reporting: it lost its upstream.
    console.wait_for("the standby without its primary", |s| {
        s.contents()
            .lines()
            .any(|l| l.contains("db-standby") && l.contains("disconnected"))
    });
    console.send(b"?");
    console.wait_for("help, over a console whose primary is down", |s| {
        s.contents().contains(HELP_TITLE)
    });
    console.send_esc();
    console.send(b"q");
    let status = console.wait_exit();
    assert!(status.success(), "{status:?}\n{}", console.describe());
    console.assert_restored();
    c.start_primary();
}

#[test]
fn a_bad_console_file_is_reported_located_before_the_terminal_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("console.toml");
    std::fs::write(
        &config,
        "[targets.db]\nkind = \"postgres\"\nurl = \"postgres://u:hunter2@h/db\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ebb"))
        .args(["console", "--config"])
        .arg(&config)
        .env("XDG_CONFIG_HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("console.toml:3:7: inline url"), "{stderr}");
    assert!(out.stdout.is_empty(), "the terminal was not touched");
}

#[test]
fn an_unset_secret_is_named_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("console.toml");
    std::fs::write(
        &config,
        "[targets.db]\nkind = \"postgres\"\nurl = \"env:EBB_TEST_UNSET_DB_URL\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ebb"))
        .args(["console", "--config"])
        .arg(&config)
        .env_remove("EBB_TEST_UNSET_DB_URL")
        .env("XDG_CONFIG_HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // miette wraps the line; the words are what matter.
    let words = stderr
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        words.contains("target db: environment variable EBB_TEST_UNSET_DB_URL is not set"),
        "{stderr}"
    );
}
