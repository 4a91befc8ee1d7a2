//! `ebb report RUN [--format md|html] [-o FILE]`: a run's debrief or postmortem draft from
//! the store; Markdown links chart SVGs written beside it, HTML holds them inline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use miette::{Report, miette};

use crate::report::{self, ReportData};
use crate::store::spec_from_env;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Md,
    Html,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run (`ebb runs list` shows them).
    pub run_id: String,
    /// Markdown (charts as SVG files beside `-o FILE`) or one self-contained HTML file.
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
    /// Write here instead of stdout; Markdown also writes its charts beside it
    /// (`STEM-lag.svg`, `STEM-volume.svg`, `STEM-migration.svg`).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// A SQLite file or postgres:// URL (default: EBB_STORE, else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
}

pub fn run(args: ReportArgs) -> Result<ExitCode, Report> {
    let spec = spec_from_env(args.store.as_deref());
    let rt = super::setup::runtime()?;
    let data = rt.block_on(async {
        let store = super::setup::open_store(&spec).await?;
        let data = report::gather(&store, &args.run_id)
            .await
            .map_err(|e| miette!("{e}"));
        store.close().await;
        data
    })?;
    let written = write(&data, args.format, args.output.as_deref())?;
    for path in written {
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the report (and, for Markdown to a file, its charts); returns the files written.
pub fn write(d: &ReportData, format: Format, out: Option<&Path>) -> Result<Vec<PathBuf>, Report> {
    let Some(path) = out else {
        let text = match format {
            Format::Md => report::md::write(d, None),
            Format::Html => report::html::write(d),
        };
        print!("{text}");
        return Ok(Vec::new());
    };
    let mut written = Vec::new();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| miette!("cannot create {}: {e}", dir.display()))?;
    }
    let text = match format {
        Format::Html => report::html::write(d),
        Format::Md => {
            let stem = path
                .file_stem()
                .map_or("report".into(), |s| s.to_string_lossy().into_owned());
            let dir = path.parent().unwrap_or(Path::new(""));
            let mut names = Vec::new();
            for (name, svg) in report::md::chart_files(d, &stem) {
                let p = dir.join(&name);
                std::fs::write(&p, svg)
                    .map_err(|e| miette!("cannot write {}: {e}", p.display()))?;
                written.push(p);
                names.push(name);
            }
            report::md::write(d, Some(&names))
        }
    };
    std::fs::write(path, text).map_err(|e| miette!("cannot write {}: {e}", path.display()))?;
    written.insert(0, path.to_path_buf());
    Ok(written)
}
