//! Plan files: every example plan validates, every file in tests/invalid/plans fails where its
//! `# expect:` lines say, the digest ignores layout, `ebb plan check` exits 0/1, no input panics.

use std::path::{Path, PathBuf};
use std::process::Command;

use ebb::diag::SourceFile;
use ebb::plan::{CheckKind, OnFailure, Plan, PlanOutline, StepKind, Undo};
use proptest::prelude::*;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn toml_files(dir: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(manifest().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_example_plan_validates() {
    let paths = toml_files("examples/plans");
    assert!(paths.len() >= 3, "{paths:?}");
    for path in paths {
        match Plan::load(&path) {
            Ok(plan) => {
                assert!(!plan.steps.is_empty());
                assert!(plan.digest().starts_with("sha256:"));
                let outline = PlanOutline::load(&path).unwrap();
                assert_eq!(outline.steps.len(), plan.steps.len());
            }
            Err(e) => panic!("{}: {:?}", path.display(), miette::Report::new(e)),
        }
    }
}

#[test]
fn drill_plan_is_typed() {
    let plan = Plan::load(&manifest().join("examples/plans/backfill-slot-fill.toml")).unwrap();
    assert_eq!(plan.name, "orders-0042-rollback");
    assert_eq!(plan.rto, Some(std::time::Duration::from_secs(1800)));
    assert_eq!(plan.steps.len(), 8);
    let first = &plan.steps[0];
    let pause = "UPDATE backfill_jobs SET paused = true WHERE migration = '0042_split_address'";
    assert_eq!(
        first.kind,
        StepKind::Sql {
            statement: pause.into()
        }
    );
    assert_eq!(first.target.as_deref(), Some("orders-db"));
    assert_eq!(first.on_failure, OnFailure::Pause);
    assert_eq!(first.backoff, std::time::Duration::from_secs(1));
    assert_eq!(
        first.undo,
        Some(Undo::Action {
            target: Some("orders-db".into()),
            kind: StepKind::Sql {
                statement: pause.replace("true", "false")
            }
        })
    );
    match &plan.gates[0].check.kind {
        CheckKind::VolumeUsage { volume, max } => {
            assert_eq!(volume, "pgdata-orders-db-0");
            assert!((max - 0.95).abs() < 1e-12);
        }
        other => panic!("{other:?}"),
    }
    let Some(StepKind::Verify { checks }) = plan.step("verify-orders").map(|s| &s.kind) else {
        panic!("verify-orders is a verify step");
    };
    assert!(
        matches!(checks[0].kind, CheckKind::RowCount { tolerance, .. } if (tolerance - 0.001).abs() < 1e-12)
    );
    // Real kinds only: a drill binds them to its world.
    assert!(
        plan.steps
            .iter()
            .all(|s| !matches!(s.kind, StepKind::Sim(_)))
    );
}

/// `# expect: LINE:COL: message substring` lines at the top of the file, each optionally
/// followed by `# help: help substring`.
fn expectations(path: &Path, text: &str) -> Vec<(usize, usize, String, Option<String>)> {
    let mut out: Vec<(usize, usize, String, Option<String>)> = Vec::new();
    for line in text.lines().take_while(|l| l.starts_with("# ")) {
        if let Some(rest) = line.strip_prefix("# expect: ") {
            let mut parts = rest.splitn(3, ':');
            let l = parts.next().and_then(|s| s.trim().parse().ok());
            let c = parts.next().and_then(|s| s.trim().parse().ok());
            let m = parts.next().map(|s| s.trim().to_string());
            let (Some(l), Some(c), Some(m)) = (l, c, m) else {
                panic!("{}: cannot read `{line}`", path.display());
            };
            out.push((l, c, m, None));
        } else if let Some(help) = line.strip_prefix("# help: ") {
            let last = out.last_mut().expect("# help: follows an # expect: line");
            last.3 = Some(help.trim().to_string());
        }
    }
    assert!(
        !out.is_empty(),
        "{}: first line must be `# expect: LINE:COL: message`",
        path.display()
    );
    out
}

#[test]
fn every_invalid_plan_fails_where_it_says() {
    let paths = toml_files("tests/invalid/plans");
    assert!(paths.len() >= 10, "{paths:?}");
    let mut failures = Vec::new();
    for path in &paths {
        let file = SourceFile::read(path).unwrap();
        let name = path.display().to_string();
        let wants = expectations(path, &file.text);
        let errors = match Plan::parse(&file) {
            Ok(_) => {
                failures.push(format!("{name}: validated, but expected errors"));
                continue;
            }
            Err(e) => e,
        };
        assert_eq!(errors.name, name);
        for (line, col, message, help) in &wants {
            let found = errors.errors.iter().any(|e| {
                e.name == name
                    && (e.line, e.col) == (*line, *col)
                    && e.message.contains(message.as_str())
                    && help
                        .as_ref()
                        .is_none_or(|h| e.help.as_ref().is_some_and(|eh| eh.contains(h.as_str())))
            });
            if !found {
                let got: Vec<String> = errors
                    .errors
                    .iter()
                    .map(|e| format!("{} (help: {:?})", e.line_form(), e.help))
                    .collect();
                failures.push(format!(
                    "{name}: expected {line}:{col}: {message} (help {help:?}); got {got:#?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn several_errors_are_reported_together_in_file_order() {
    let path = manifest().join("tests/invalid/plans/several-errors.toml");
    let errors = Plan::load(&path).unwrap_err();
    assert!(errors.errors.len() >= 4, "{errors:?}");
    let positions: Vec<(usize, usize)> = errors.errors.iter().map(|e| (e.line, e.col)).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted);
    // The outline (what the drill shows) reports the first and counts the rest.
    let first = PlanOutline::load(&path).unwrap_err();
    assert!(first.message.contains("more error"), "{first}");
}

/// The example plans, re-serialized without comments and in another layout.
fn reformatted(text: &str) -> String {
    let table: toml::Table = text.parse().unwrap();
    toml::to_string_pretty(&table).unwrap()
}

#[test]
fn digest_ignores_layout_and_comments_but_not_values() {
    for path in toml_files("examples/plans") {
        let text = std::fs::read_to_string(&path).unwrap();
        let original = Plan::parse(&SourceFile::new("a.toml", text.clone())).unwrap();
        let again = reformatted(&text);
        assert_ne!(again, text);
        let other = Plan::parse(&SourceFile::new("b.toml", again)).unwrap();
        assert_eq!(original.digest(), other.digest(), "{}", path.display());
        // Widen `key = value` at line starts (not inside strings) and add comments.
        let spaced: Vec<String> = text
            .lines()
            .map(|l| match l.split_once(" = ") {
                Some((k, v)) if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    format!("  {k}   =   {v}   # note")
                }
                _ => l.to_string(),
            })
            .collect();
        let commented = format!("# a new comment\n\n{}\n# trailing\n", spaced.join("\n"));
        let commented = Plan::parse(&SourceFile::new("c.toml", commented)).unwrap();
        assert_eq!(original.digest(), commented.digest(), "{}", path.display());
    }
    let text =
        std::fs::read_to_string(manifest().join("examples/plans/backfill-slot-fill.toml")).unwrap();
    let base = Plan::parse(&SourceFile::new("a.toml", text.clone())).unwrap();
    for (from, to) in [
        ("rto = \"30m\"", "rto = \"31m\""),
        ("max = \"30s\"", "max = \"31s\""),
        ("id = \"snapshot-primary\"", "id = \"snapshot-primary2\""),
    ] {
        assert!(text.contains(from), "{from}");
        let changed = Plan::parse(&SourceFile::new("a.toml", text.replace(from, to))).unwrap();
        assert_ne!(base.digest(), changed.digest(), "{from} → {to}");
    }
}

fn ebb(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ebb"))
        .args(args)
        .current_dir(manifest())
        .output()
        .unwrap()
}

#[test]
fn plan_check_exit_codes_and_json() {
    let ok = ebb(&["plan", "check", "examples/plans/backfill-slot-fill.toml"]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        out.starts_with("ok: orders-0042-rollback (8 steps, digest sha256:"),
        "{out}"
    );

    let bad = ebb(&["plan", "check", "tests/invalid/plans/several-errors.toml"]);
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("tests/invalid/plans/several-errors.toml:16:10: undeclared target"),
        "{err}"
    );
    assert!(err.contains("unknown step kind"), "{err}");

    let json = ebb(&[
        "plan",
        "check",
        "--json",
        "tests/invalid/plans/several-errors.toml",
    ]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let errors = v["errors"].as_array().unwrap();
    assert!(errors.len() >= 4);
    assert_eq!(errors[1]["line"], 16);
    assert_eq!(errors[1]["col"], 10);
    assert_eq!(errors[1]["help"], "did you mean `db`?");
    assert_eq!(errors[1]["file"], "tests/invalid/plans/several-errors.toml");

    let json = ebb(&[
        "plan",
        "check",
        "--json",
        "examples/plans/backfill-slot-fill.toml",
    ]);
    assert_eq!(json.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["plan"], "orders-0042-rollback");
    assert!(v["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(v["errors"].as_array().unwrap().len(), 0);

    let missing = ebb(&["plan", "check", "no/such/plan.toml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("no/such/plan.toml:1:1: cannot read file")
    );
}

fn example_texts() -> Vec<String> {
    toml_files("examples/plans")
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// Fragments that make edits likely to reach the semantic checks rather than syntax errors.
const TOKENS: &[&str] = &[
    "\"",
    "=",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\n",
    "#",
    "'",
    "\\",
    "0",
    "-1",
    "\"\"",
    "\"5s\"",
    "\"-5s\"",
    "\"150%\"",
    "\"%\"",
    "\"env:\"",
    "\"file:\"",
    "kind = \"wait\"",
    "[[step]]\nid = \"x\"\n",
    "undo = \"auto\"",
    "on_failure = \"rollback\"",
    "target = \"nope\"",
    "é",
    "\u{202e}",
    "9999999999999999999",
    "1e400",
    "nan",
    "inf",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, token: usize },
    Duplicate { at: usize, len: usize },
}

fn apply(text: &str, edit: &Edit) -> String {
    let floor = |i: usize| {
        let mut i = i % (text.len() + 1);
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    match edit {
        Edit::Delete { at, len } => {
            let a = floor(*at);
            let b = floor(a.saturating_add(*len).min(text.len()));
            format!("{}{}", &text[..a], &text[b.max(a)..])
        }
        Edit::Insert { at, token } => {
            let a = floor(*at);
            format!(
                "{}{}{}",
                &text[..a],
                TOKENS[token % TOKENS.len()],
                &text[a..]
            )
        }
        Edit::Duplicate { at, len } => {
            let a = floor(*at);
            let b = floor(a.saturating_add(*len).min(text.len())).max(a);
            format!("{}{}", &text[..b], &text[a..])
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), any::<usize>()).prop_map(|(at, token)| Edit::Insert { at, token }),
        (any::<usize>(), 0usize..200).prop_map(|(at, len)| Edit::Duplicate { at, len }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = Plan::parse(&SourceFile::new("p.toml", text));
    }

    #[test]
    fn mutated_examples_never_panic(which in any::<usize>(), edits in prop::collection::vec(edit(), 1..6)) {
        let texts = example_texts();
        let mut text = texts[which % texts.len()].clone();
        for e in &edits {
            text = apply(&text, e);
        }
        let file = SourceFile::new("p.toml", text);
        if let Err(errors) = Plan::parse(&file) {
            // Every error is located inside the file.
            for e in &errors.errors {
                prop_assert!(e.line >= 1 && e.col >= 1);
                prop_assert!(e.line <= file.text.lines().count().max(1) + 1);
            }
            prop_assert!(!errors.errors.is_empty());
        }
    }
}
