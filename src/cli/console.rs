//! `ebb console --config FILE`: the console on real PostgreSQL servers, Prometheus and
//! Kubernetes namespaces, watching only (no run). The file is checked before the terminal is taken.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use miette::Report;

use super::drill::{Watched, console, load_config};
use super::watch::{self, Watch};
use super::{UiArgs, identity};
use crate::app::{Model, TimelineKind};
use crate::text::DisplayText;
use crate::time::Timestamp;

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// A plan file (its postgres, prometheus and kubernetes targets are watched and its
    /// steps shown) or a targets file (`[targets.NAME]` with kind = "postgres", "prometheus"
    /// or "kubernetes", optional `[console]`).
    #[arg(long)]
    pub config: PathBuf,
    /// A name to annotate the unix user with (shared terminals).
    #[arg(long)]
    pub operator: Option<String>,
    /// Where the audit log is kept: a SQLite file or a postgres:// URL (default: EBB_STORE,
    /// else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
    #[command(flatten)]
    pub kube: super::KubeArgs,
    #[command(flatten)]
    pub ui: UiArgs,
}

/// The model a watching console starts from: every target listed, none with figures yet.
pub fn console_model(w: &Watch, operator: &str, now: Timestamp) -> Model {
    let names: Vec<&str> = w.targets.iter().map(|t| t.name()).collect();
    let mut model = Model::new(
        DisplayText::new(&format!("console: {}", names.join(", "))),
        DisplayText::new(operator),
        now,
    );
    model.watched = w.targets.iter().map(|t| t.source_id()).collect();
    model.plan = w.plan.as_ref().map(|(_, outline)| outline.clone());
    for t in &w.targets {
        let line = format!(
            "watching {} ({}, every {:.1}s)",
            t.name(),
            t.describe(),
            t.interval().as_secs_f64()
        );
        model.push_timeline(now, TimelineKind::System, DisplayText::new(&line));
    }
    for u in &w.unwatched {
        let line = format!("not watched (not postgres, prometheus or kubernetes): {u}");
        model.push_timeline(now, TimelineKind::System, DisplayText::new(&line));
    }
    model
}

pub fn run(args: ConsoleArgs) -> Result<ExitCode, Report> {
    let cfg = load_config(&args.ui)?;
    let w = watch::load(&args.config, &args.kube.checked()?)?;
    super::require_terminal(
        "console",
        "without a terminal, follow a run as lines with `ebb attach RUN --headless` (or `ebb watch RUN --headless`)",
    )?;
    let operator = identity::operator(args.operator.as_deref());
    let mut model = console_model(&w, &operator, Timestamp::now());
    model.operator_annotation = args.operator.clone();
    let store_spec = crate::store::spec_from_env(args.store.as_deref());
    // The same console as a drill or a run, fed by one source task per server, no run.
    console(model, &cfg, Watched::Servers(w.targets), None, store_spec)
}
