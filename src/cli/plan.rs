//! `ebb plan check PLAN [--json] [--rbac]`: validate a rollback plan and report every error
//! located (`file:line:col`), for people or CI (JSON); `--rbac` prints the Kubernetes RBAC.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::plan::{Plan, PlanErrors};

/// Work with rollback plan files.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub command: PlanCommand,
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Validate a plan: every error with file:line:col; exit 0 when valid, 1 when not.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The plan file (TOML).
    pub plan: PathBuf,
    /// Print one JSON object (for CI) instead of a report.
    #[arg(long)]
    pub json: bool,
    /// When valid, print the least-privilege Kubernetes Role/ClusterRole (YAML) it needs.
    #[arg(long, conflicts_with = "json")]
    pub rbac: bool,
}

pub fn run(args: PlanArgs) -> Result<ExitCode, miette::Report> {
    match args.command {
        PlanCommand::Check(a) => check(&a),
    }
}

fn check(args: &CheckArgs) -> Result<ExitCode, miette::Report> {
    let result = Plan::load(&args.plan);
    let ok = result.is_ok();
    if args.json {
        let report = json_report(&result);
        let mut out = std::io::stdout().lock();
        writeln!(out, "{report}").map_err(|e| miette::miette!("cannot write: {e}"))?;
    } else {
        match result {
            Ok(plan) if args.rbac => {
                eprintln!("{}", summary(&plan));
                print!("{}", crate::backends::kubernetes::rbac::rbac(&plan));
            }
            Ok(plan) => println!("{}", summary(&plan)),
            Err(errors) => print_errors(errors),
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `ok: NAME (N steps, digest sha256:abcd…)`.
pub fn summary(plan: &Plan) -> String {
    let n = plan.steps.len();
    let short: String = plan.digest().chars().take(7 + 12).collect();
    format!(
        "ok: {} ({n} step{}, digest {short}…)",
        crate::text::sanitize(&plan.name),
        if n == 1 { "" } else { "s" }
    )
}

/// The report for people: the count, then each error as a miette snippet whose first line
/// is `file:line:col: message`.
fn print_errors(errors: PlanErrors) {
    eprintln!("{:?}", miette::Report::new(errors));
}

/// `{"ok":bool,"plan":…,"digest":…,"steps":…,"errors":[{"file","line","col","message","help"}]}`.
pub fn json_report(result: &Result<Plan, PlanErrors>) -> serde_json::Value {
    match result {
        Ok(plan) => serde_json::json!({
            "ok": true,
            "file": plan.source_name,
            "plan": plan.name,
            "digest": plan.digest(),
            "steps": plan.steps.len(),
            "errors": [],
        }),
        Err(errors) => serde_json::json!({
            "ok": false,
            "file": errors.name,
            "plan": null,
            "digest": null,
            "steps": null,
            "errors": errors.errors.iter().map(|e| serde_json::json!({
                "file": e.name,
                "line": e.line,
                "col": e.col,
                "message": e.message,
                "help": e.help,
            })).collect::<Vec<_>>(),
        }),
    }
}
