//! Command-line entry: parse arguments, pick a mode, wire the parts together.
//! Every file error is reported (located) here, before the terminal is taken over.

pub mod attach;
pub mod attach_headless;
pub mod audit;
pub mod break_glass;
pub mod console;
pub mod drill;
pub mod headless;
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
pub mod watch;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

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
    Drill(drill::DrillArgs),
    /// Watch real systems (PostgreSQL, Kubernetes, Prometheus): the console's panes, fed
    /// by the targets of a plan or of a targets file.
    Console(console::ConsoleArgs),
    /// Run a rollback plan on its real targets (or, with --drill, on the drill world): a
    /// runner drives it and this console attaches; --headless drives it here.
    Run(run::RunArgs),
    /// Continue a run whose runner is gone (crash, reboot): a new runner, without
    /// re-applying a step; this console attaches.
    Resume(run::ResumeArgs),
    /// Drive a run from this terminal: a console on a run that a runner drives.
    Attach(attach::AttachArgs),
    /// Watch a run from this terminal, read-only: run-control keys are refused (and audited).
    Watch(attach::AttachArgs),
    /// The process that drives one run (started by `ebb run` and `ebb resume`).
    #[command(hide = true)]
    Runner(attach::RunnerArgs),
    /// The runs in the store, and each run's journal.
    Runs(runs::RunsArgs),
    /// What a recorded console showed, read-only and scrubbable (--list: its consoles).
    Replay(replay::ReplayArgs),
    /// Render a drill screen (or, with --replay, a recorded console's) to SVG with the TUI's view code.
    Screenshot(screenshot::ScreenshotArgs),
    Plan(plan::PlanArgs),
    /// The tamper-evident audit log: verify, export, show; its signing key.
    Audit(audit::AuditArgs),
    /// Who may do what: apply a policy file, show the one in force.
    Policy(policy::PolicyArgs),
    /// A run's debrief or postmortem draft: timeline, figures, objectives, SVG charts.
    Report(report::ReportArgs),
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

/// The exit status of a console that ended normally but could not seal its audit session
/// (its end and final checkpoint are not on record).
pub const EXIT_UNSEALED: u8 = 5;

/// The exit status of a headless run or resume whose audit log cannot be opened: it prints
/// `AUDIT DOWN: why` and starts nothing.
pub const EXIT_AUDIT_DOWN: u8 = 6;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
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
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(2)
        }
    }
}
