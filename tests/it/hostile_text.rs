//! Text from outside never reaches a terminal raw: a PostgreSQL error holding OSC 52 and
//! CSI sequences, run headless (text and JSON), then `runs list` and `runs show`.

use std::process::Stdio;

use crate::support::headless::{ebb, runs};
use crate::support::pg::PgCluster;

/// What a terminal would act on: ESC, BEL, C1 controls, and (in text output) bidi
/// overrides. In JSON, serde escapes the controls and a bidi override is data.
fn hostile(bytes: &[u8], json: bool) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.chars()
        .find(|c| {
            (c.is_control() && *c != '\n' && *c != '\t')
                || (!json && matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        })
        .map(|c| format!("{:?} in {text}", c))
}

const PLAN: &str = r#"[plan]
name = "hostile-error"
description = "A step whose server error carries escape sequences"

[targets.db]
kind = "postgres"
url = "env:EBB_TEST_DB_URL"

[[step]]
id = "raise"
kind = "sql"
target = "db"
statement = "DO $$ BEGIN RAISE EXCEPTION 'boom % %', chr(27) || ']52;c;aGFja2Vk' || chr(7), chr(27) || '[2J' || chr(8238); END $$"
"#;

#[test]
fn a_server_error_with_escape_sequences_reaches_no_output_mode_raw() {
    let pg = PgCluster::start();
    let home = tempfile::tempdir().unwrap();
    let plan = home.path().join("hostile.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let url = pg.primary_url("postgres");
    for json in [false, true] {
        let mut c = ebb(home.path());
        c.env("EBB_TEST_DB_URL", &url)
            .args(["run", "--headless", "--yes"])
            .arg(&plan)
            .stdin(Stdio::null());
        if json {
            c.arg("--json");
        }
        let out = c.output().unwrap();
        let all = [out.stdout.clone(), out.stderr.clone()].concat();
        let text = String::from_utf8_lossy(&all);
        assert!(text.contains("boom"), "the error is shown: {text}");
        assert_eq!(hostile(&out.stdout, json), None, "stdout (json: {json})");
        assert_eq!(hostile(&out.stderr, false), None, "stderr (json: {json})");
        if json {
            // JSON stays JSON: the escape is data, written as \u001b.
            assert!(text.contains("\\u001b"), "{text}");
        }
    }
    let id = runs(home.path())[0]["id"].as_str().unwrap().to_string();
    for args in [vec!["runs", "list"], vec!["runs", "show", id.as_str()]] {
        let out = ebb(home.path()).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert_eq!(hostile(&out.stdout, false), None, "{args:?}");
    }
    let show = ebb(home.path())
        .args(["runs", "show", &id])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&show.stdout).contains("boom"),
        "the journal keeps the error"
    );
}

/// `ebb plan check` of `plan` written with `text`.
fn check(home: &std::path::Path, plan: &std::path::Path, text: &str) -> std::process::Output {
    std::fs::write(plan, text).unwrap();
    ebb(home)
        .args(["plan", "check"])
        .arg(plan)
        .output()
        .unwrap()
}

#[test]
fn plan_check_never_echoes_escape_sequences_from_the_file() {
    let home = tempfile::tempdir().unwrap();
    let plan = home.path().join("evil.toml");
    // A raw OSC 52 in a comment (a TOML error, whose snippet shows the line), and an
    // escaped one in the plan's name (a validation error naming it).
    let out = check(
        home.path(),
        &plan,
        "[plan]\nname = \"x\\u001b]52;c;aGFja2Vk\\u0007\"\n# \x1b]52;c;aGFja2Vk\x07 \x1b[2J\u{202e}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(hostile(&out.stdout, false), None);
    assert_eq!(hostile(&out.stderr, false), None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("evil.toml:3:"));
    // Fixed comment: now the name is the error, located, and still nothing raw.
    let out = check(
        home.path(),
        &plan,
        "[plan]\nname = \"x\\u001b]52;c;aGFja2Vk\\u0007\"\ndescription = \"d\"\n\n[[step]]\nid = \"a\"\nkind = \"manual\"\ninstruction = \"go\"\n",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(hostile(&out.stderr, false), None);
    assert!(
        err.contains("evil.toml:2:8: the plan name holds the control"),
        "{err}"
    );
}
