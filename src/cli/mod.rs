//! Command-line entry: parse arguments, pick a mode, wire the parts together.
//! Every file error is reported (located) here, before the terminal is taken over.

pub mod attach;
pub mod attach_headless;
pub mod audit;
pub mod break_glass;
pub mod console;
pub mod docs;
pub mod drill;
pub mod headless;
pub mod help;
pub mod identity;
pub mod link;
pub mod plan;
pub mod policy;
pub mod replay;
pub mod report;
pub mod run;
pub mod runs;
pub mod screenshot;
pub mod screenshot_replay;
pub mod setup;
pub mod watch;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use miette::Report;

#[derive(Debug, Parser)]
#[command(
    name = "ebb",
    version,
    about = "A terminal console for rolling back stateful systems during an incident"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rehearse a rollback against the built-in simulated world (no infrastructure needed).
    #[command(after_long_help = help::DRILL)]
    Drill(drill::DrillArgs),
    /// Watch real systems (PostgreSQL, Kubernetes, Prometheus): the console's panes, fed
    /// by the targets of a plan or of a targets file.
    #[command(after_long_help = help::CONSOLE)]
    Console(console::ConsoleArgs),
    /// Run a rollback plan on its real targets (or, with --drill, on the drill world): a
    /// runner drives it and this console attaches; --headless drives it here.
    #[command(after_long_help = help::RUN)]
    Run(run::RunArgs),
    /// Continue a run whose runner is gone (crash, reboot): a new runner, without
    /// re-applying a step; this console attaches.
    #[command(after_long_help = help::RESUME)]
    Resume(run::ResumeArgs),
    /// Drive a run from this terminal: a console on a run that a runner drives.
    #[command(after_long_help = help::ATTACH)]
    Attach(attach::AttachArgs),
    /// Watch a run from this terminal, read-only: run-control keys are refused (and audited).
    #[command(after_long_help = help::WATCH)]
    Watch(attach::AttachArgs),
    /// The process that drives one run (started by `ebb run` and `ebb resume`).
    #[command(hide = true)]
    Runner(attach::RunnerArgs),
    /// The runs in the store, and each run's journal.
    #[command(after_long_help = help::RUNS)]
    Runs(runs::RunsArgs),
    /// What a recorded console showed, read-only and scrubbable (--list: its consoles).
    #[command(after_long_help = help::REPLAY)]
    Replay(replay::ReplayArgs),
    /// Render a drill screen (or, with --replay, a recorded console's) to SVG with the TUI's view code.
    #[command(after_long_help = help::SCREENSHOT)]
    Screenshot(screenshot::ScreenshotArgs),
    #[command(after_long_help = help::PLAN)]
    Plan(plan::PlanArgs),
    /// The tamper-evident audit log: verify, export, show; its signing key.
    #[command(after_long_help = help::AUDIT)]
    Audit(audit::AuditArgs),
    /// Who may do what: apply a policy file, show the one in force.
    #[command(after_long_help = help::POLICY)]
    Policy(policy::PolicyArgs),
    /// A run's debrief or postmortem draft: timeline, figures, objectives, SVG charts.
    #[command(after_long_help = help::REPORT)]
    Report(report::ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(after_long_help = help::COMPLETIONS)]
    Completions(docs::CompletionsArgs),
    /// Print ebb's manual page (roff) on stdout, or every command's page into a directory.
    #[command(after_long_help = help::MAN)]
    Man(docs::ManArgs),
}

/// ebb's command line as `--help`, completions and the manual page show it: a nested
/// command (`plan check`) shows its group's examples and exit statuses in its long help.
pub fn command() -> clap::Command {
    fn inherit(cmd: clap::Command, from: Option<clap::builder::StyledStr>) -> clap::Command {
        let own = cmd.get_after_long_help().cloned().or(from);
        let cmd = match &own {
            Some(text) => cmd.after_long_help(text.clone()),
            None => cmd,
        };
        cmd.mut_subcommands(|sub| inherit(sub, own.clone()))
    }
    <Cli as clap::CommandFactory>::command()
        .after_long_help(help::TOP)
        .mut_subcommands(|sub| inherit(sub, None))
}

/// Look and feel options shared by every command that draws.
#[derive(Debug, Clone, Args)]
pub struct UiArgs {
    /// Theme: a preset name (dark, light, high-contrast, colorblind, mono) or a file path.
    #[arg(long)]
    pub theme: Option<String>,
    /// Keymap: a preset name (default, vim) or a file path.
    #[arg(long)]
    pub keymap: Option<String>,
}

/// `--context` and `-n/--namespace`, as kubectl has them, for commands that reach
/// kubernetes targets.
#[derive(Debug, Clone, Args)]
pub struct KubeArgs {
    /// The kubeconfig context of every kubernetes target, instead of the file's `context`.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace of every kubernetes target, instead of the file's `namespace`.
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

impl KubeArgs {
    /// The checked override (a namespace must be a DNS label).
    pub fn checked(&self) -> Result<crate::plan::overrides::KubeOverride, Report> {
        crate::plan::overrides::KubeOverride::new(self.context.clone(), self.namespace.clone())
            .map_err(|why| miette::miette!("{why}"))
    }
}

/// The exit status of a console that ended normally but could not seal its audit session
/// (its end and final checkpoint are not on record).
pub const EXIT_UNSEALED: u8 = 5;

/// The exit status of a headless run or resume whose audit log cannot be opened: it prints
/// `AUDIT DOWN: why` and starts nothing.
pub const EXIT_AUDIT_DOWN: u8 = 6;

pub fn main() -> ExitCode {
    let cli = match command()
        .try_get_matches()
        .and_then(|mut m| <Cli as clap::FromArgMatches>::from_arg_matches_mut(&mut m))
    {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // Held until main returns, on every exit path (signals end the loops, not the process),
    // so the last lines reach the file.
    let _log_guard = crate::logging::init();
    let result = match cli.command {
        Command::Drill(a) => drill::run(a),
        Command::Console(a) => console::run(a),
        Command::Replay(a) => replay::run(a),
        Command::Screenshot(a) => screenshot::run(a),
        Command::Run(a) => run::run(a),
        Command::Resume(a) => run::resume(a),
        Command::Attach(a) => attach::attach(a),
        Command::Watch(a) => attach::watch(a),
        Command::Runner(a) => attach::runner(a),
        Command::Runs(a) => runs::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Audit(a) => audit::run(a),
        Command::Policy(a) => policy::run(a),
        Command::Report(a) => report::run(a),
        Command::Completions(a) => docs::completions(a),
        Command::Man(a) => docs::man(a),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            let refused = report
                .chain()
                .any(|e| e.downcast_ref::<Refused>().is_some());
            ExitCode::from(if refused {
                policy::EXIT_REFUSED
            } else {
                help::EXIT_ERROR
            })
        }
    }
}

/// A console draws on a terminal: with stdin or stdout not one (a pipe, a file, cron), it
/// says so and what to use instead, before anything starts. It never draws into a pipe.
pub fn require_terminal(command: &str, instead: &str) -> Result<(), Report> {
    use std::io::IsTerminal;
    let which = match (
        std::io::stdin().is_terminal(),
        std::io::stdout().is_terminal(),
    ) {
        (true, true) => return Ok(()),
        (false, false) => "stdin and stdout are not terminals",
        (false, true) => "stdin is not a terminal",
        (true, false) => "stdout is not a terminal",
    };
    Err(miette::miette!(
        help = instead.to_string(),
        "`ebb {command}` draws a console and needs a terminal: {which}"
    ))
}

/// A command the policy in force refused (a role, an unapproved plan): exits 7, not 2.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("refused: {0}")]
pub struct Refused(pub String);
