//! The command line explains itself: every option and argument of every subcommand has a
//! one-line description in `--help` (issue 16 asks for the rest of what help should say).

use clap::CommandFactory;

/// Every argument without help text, as `ebb SUB … --name`.
fn undescribed(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        if arg.is_hide_set() || matches!(arg.get_id().as_str(), "help" | "version") {
            continue;
        }
        let described = arg
            .get_help()
            .is_some_and(|h| !h.to_string().trim().is_empty());
        if !described {
            let name = arg
                .get_long()
                .map(|l| format!("--{l}"))
                .unwrap_or_else(|| format!("<{}>", arg.get_id()));
            out.push(format!("{path} {name}"));
        }
    }
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        undescribed(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

#[test]
fn no_option_lacks_a_description() {
    let mut missing = Vec::new();
    undescribed(&ebb::cli::Cli::command(), "ebb", &mut missing);
    assert!(
        missing.is_empty(),
        "options without a description:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_subcommand_says_what_it_does() {
    let cli = ebb::cli::Cli::command();
    for sub in cli.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        assert!(
            sub.get_about().is_some(),
            "ebb {} has no description",
            sub.get_name()
        );
    }
}

/// Every command's path (`["plan", "check"]`), the root first; hidden ones left out.
fn paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    out.push(prefix.to_vec());
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let mut p = prefix.to_vec();
        p.push(sub.get_name().to_string());
        paths(sub, &p, out);
    }
}

fn all_paths() -> Vec<Vec<String>> {
    let mut out = Vec::new();
    paths(&ebb::cli::command(), &[], &mut out);
    out
}

fn ebb_bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ebb"));
    // Help never prints an env value, but keep the snapshots independent of the shell.
    c.env_remove("EBB_STORE")
        .env_remove("EBB_AUDIT_KEY")
        .env("COLUMNS", "100");
    c
}

/// `ebb … --help` of every command, through the real binary, as a snapshot each: a change
/// to what help says is a reviewed change.
#[test]
fn every_commands_help_is_as_reviewed() {
    for path in all_paths() {
        let out = ebb_bin().args(&path).arg("--help").output().unwrap();
        assert!(out.status.success(), "ebb {path:?} --help failed");
        let name = if path.is_empty() {
            "help_ebb".to_string()
        } else {
            format!("help_ebb_{}", path.join("_"))
        };
        insta::assert_snapshot!(name, String::from_utf8(out.stdout).unwrap());
    }
}

/// Each command's long help has examples and exit statuses (its own, or its group's).
#[test]
fn every_command_has_examples_and_exit_statuses() {
    for path in all_paths() {
        let out = ebb_bin().args(&path).arg("--help").output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Exit status:"), "ebb {path:?} --help: {text}");
        if !path.is_empty() {
            let cmd = format!("ebb {}", path[0]);
            assert!(
                text.contains("Examples:\n") && text.contains(&cmd),
                "ebb {path:?} --help has no example of {cmd}: {text}"
            );
        }
    }
}

/// `ebb completions SHELL` for every shell there is here: bash always (scripts/test
/// installs nothing more); zsh and fish when installed.
#[test]
fn completion_scripts_parse_in_their_shells() {
    for (shell, check) in [("bash", "-n"), ("zsh", "-n"), ("fish", "--no-execute")] {
        let out = ebb_bin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "completions {shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("attach") && script.contains("namespace"),
            "{shell}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("ebb.{shell}"));
        std::fs::write(&file, &script).unwrap();
        match std::process::Command::new(shell)
            .arg(check)
            .arg(&file)
            .output()
        {
            Ok(r) => assert!(
                r.status.success(),
                "{shell} {check}: {}",
                String::from_utf8_lossy(&r.stderr)
            ),
            Err(_) if shell != "bash" => continue,
            Err(e) => panic!("bash: {e}"),
        }
    }
    // bash completes subcommands and options from the script.
    let out = ebb_bin().args(["completions", "bash"]).output().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ebb.bash");
    std::fs::write(&file, &out.stdout).unwrap();
    let probe = format!(
        "source {}; COMP_WORDS=(ebb pla); COMP_CWORD=1; _ebb ebb pla ebb; echo \"${{COMPREPLY[@]}}\"; \
         COMP_WORDS=(ebb run --con); COMP_CWORD=2; _ebb ebb --con run; echo \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let r = std::process::Command::new("bash")
        .args(["-c", &probe])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&r.stdout);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.first().copied(), Some("plan"), "{said}");
    assert!(
        lines.get(1).is_some_and(|l| l.contains("--context")),
        "{said}"
    );
}

/// `ebb man` renders with `man -l` without a warning, and `ebb man --dir` writes a page for
/// every command that renders too, with its examples.
#[test]
fn the_manual_pages_render() {
    let render = |page: &std::path::Path| {
        let r = std::process::Command::new("man")
            .args(["--warnings", "-l"])
            .arg(page)
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .expect("man (scripts/test installs man-db)");
        assert!(r.status.success(), "{}", page.display());
        let warnings = String::from_utf8_lossy(&r.stderr).to_string();
        assert!(warnings.trim().is_empty(), "{}: {warnings}", page.display());
        String::from_utf8_lossy(&r.stdout).to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("ebb.1");
    let out = ebb_bin().arg("man").output().unwrap();
    assert!(out.status.success());
    std::fs::write(&top, &out.stdout).unwrap();
    let text = render(&top);
    assert!(
        text.contains("NAME") && text.contains("ebb-drill(1)"),
        "{text}"
    );
    assert!(text.contains("EBB_STORE"), "{text}");

    let pages = dir.path().join("man1");
    let out = ebb_bin()
        .args(["man", "--dir"])
        .arg(&pages)
        .output()
        .unwrap();
    assert!(out.status.success());
    for path in all_paths().iter().filter(|p| !p.is_empty()) {
        let page = pages.join(format!("ebb-{}.1", path.join("-")));
        let text = render(&page);
        assert!(text.contains("Exit status:"), "{}: {text}", page.display());
    }
}

/// README's command reference: one row per command, its usage and what it does, from the
/// same definitions `--help` prints.
fn reference() -> String {
    let mut root = ebb::cli::command();
    root.build();
    let mut rows = vec![
        "| Command | What it does |".to_string(),
        "|---|---|".to_string(),
    ];
    fn walk(cmd: &clap::Command, rows: &mut Vec<String>) {
        for sub in cmd.get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            let usage = sub.clone().render_usage().to_string();
            let usage = usage.trim_start_matches("Usage: ").trim();
            let about = sub
                .get_about()
                .map(|a| a.to_string())
                .unwrap_or_default()
                .replace('|', "\\|");
            rows.push(format!("| `{usage}` | {about} |"));
            walk(sub, rows);
        }
    }
    walk(&root, &mut rows);
    rows.join("\n")
}

#[test]
fn readme_command_reference_matches_help() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = ("<!-- commands:begin -->\n", "<!-- commands:end -->");
    let a = readme.find(begin).expect("README has the commands block") + begin.len();
    let b = readme[a..].find(end).expect("the block ends") + a;
    let want = format!("{}\n", reference());
    if std::env::var_os("EBB_UPDATE_README").is_some() {
        let updated = format!("{}{want}{}", &readme[..a], &readme[b..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        readme[a..b],
        want,
        "README's command reference is stale: EBB_UPDATE_README=1 cargo test --test it readme"
    );
}
