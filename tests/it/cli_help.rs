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
