//! `ebb completions SHELL` and `ebb man`: shell completion scripts and manual pages,
//! generated from the same command definitions `--help` prints, so they never drift.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use miette::{IntoDiagnostic, Report};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command into this directory (ebb.1, ebb-drill.1, ebb-plan-check.1,
    /// …) instead of ebb(1) on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> Result<ExitCode, Report> {
    let mut cmd = super::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "ebb", &mut out);
    Ok(ExitCode::SUCCESS)
}

pub fn man(args: ManArgs) -> Result<ExitCode, Report> {
    let cmd = super::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .into_diagnostic()
                .map_err(|e| e.wrap_err(format!("cannot create {}", dir.display())))?;
            clap_mangen::generate_to(cmd, &dir)
                .into_diagnostic()
                .map_err(|e| e.wrap_err(format!("cannot write pages into {}", dir.display())))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .into_diagnostic()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
