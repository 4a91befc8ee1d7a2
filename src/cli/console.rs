//! `ebb console --config FILE`: the console on real PostgreSQL servers, watching only (no
//! run). The file is checked and its secrets read before the terminal is taken.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use miette::{IntoDiagnostic, Report};
use tokio::sync::mpsc;

use super::drill::{audit_history, load_config, open_audit};
use super::watch::{self, Watch};
use super::{UiArgs, identity};
use crate::app::{Model, TimelineKind};
use crate::sources::{SourceId, pg};
use crate::store::Store;
use crate::text::DisplayText;
use crate::time::Timestamp;
use crate::tui::event_loop::{self, Exit, LoopIo};
use crate::tui::recorder::Recorder;

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// A plan file (its postgres targets are watched and its steps shown) or a targets
    /// file (`[targets.NAME]` with kind = "postgres", optional `[console]`).
    #[arg(long)]
    pub config: PathBuf,
    /// A name to annotate the unix user with (shared terminals).
    #[arg(long)]
    pub operator: Option<String>,
    /// Where the audit log is kept: a SQLite file or a postgres:// URL (default: EBB_STORE,
    /// else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long)]
    pub store: Option<String>,
    #[command(flatten)]
    pub ui: UiArgs,
}

/// The model a watching console starts from: every target listed, none with figures yet.
pub fn console_model(w: &Watch, operator: &str, now: Timestamp) -> Model {
    let names: Vec<&str> = w.targets.iter().map(|t| t.name.as_str()).collect();
    let mut model = Model::new(
        DisplayText::new(&format!("console: {}", names.join(", "))),
        DisplayText::new(operator),
        now,
    );
    model.watched = w
        .targets
        .iter()
        .map(|t| SourceId(format!("pg:{}", t.name)))
        .collect();
    model.plan = w.plan.as_ref().map(|(_, outline)| outline.clone());
    for t in &w.targets {
        let line = format!(
            "watching {} ({}, every {:.1}s)",
            t.name,
            t.describe(),
            t.interval.as_secs_f64()
        );
        model.push_timeline(now, TimelineKind::System, DisplayText::new(&line));
    }
    for u in &w.unwatched {
        let line = format!("not watched (not postgres): {u}");
        model.push_timeline(now, TimelineKind::System, DisplayText::new(&line));
    }
    model
}

pub fn run(args: ConsoleArgs) -> Result<ExitCode, Report> {
    let cfg = load_config(&args.ui)?;
    let w = watch::load(&args.config)?;
    let operator = identity::operator(args.operator.as_deref());
    let mut model = console_model(&w, &operator, Timestamp::now());
    model.operator_annotation = args.operator.clone();
    let store_spec = crate::store::spec_from_env(args.store.as_deref());
    let digest = w.plan.as_ref().map(|(p, _)| p.digest().to_string());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    let result = rt.block_on(async {
        let (audit, history) = match Store::open(&store_spec).await {
            Ok(store) => (
                open_audit(&store, model.operator_annotation.as_deref()).await,
                audit_history(&store, 40).await,
            ),
            Err(e) => (
                Err(format!("cannot open the store {store_spec}: {e}")),
                Vec::new(),
            ),
        };
        let (obs_tx, obs_rx) = mpsc::channel(256);
        // One task per server; none of them can hold up the screen.
        let sources: Vec<_> = w
            .targets
            .into_iter()
            .map(|t| pg::spawn(t, obs_tx.clone()))
            .collect();
        drop(obs_tx);
        let mut io = LoopIo {
            recorder: Recorder::new(audit, digest),
            observations: obs_rx,
            drill: None,
            engine: None,
            engine_events: None,
        };
        for e in history.into_iter().rev() {
            model.timeline.push_back(e);
        }
        model.audit_down = io.recorder.down.clone();
        let result = event_loop::run(model, &cfg.keymap, &cfg.theme, &mut io).await;
        io.recorder.close().await;
        for s in sources {
            s.abort();
        }
        result
    });
    let (_, exit) = result.into_diagnostic()?;
    Ok(exit_code(exit))
}

/// The process's exit code for how the console ended (128 + the signal's number).
fn exit_code(exit: Exit) -> ExitCode {
    match exit {
        Exit::Quit => ExitCode::SUCCESS,
        Exit::Signal(name) => {
            eprintln!("ebb: {name} received; terminal restored.");
            ExitCode::from(match name {
                "SIGHUP" => 129,
                "SIGINT" => 130,
                _ => 143,
            })
        }
        Exit::TerminalGone => {
            eprintln!("ebb: the terminal went away.");
            ExitCode::from(129)
        }
    }
}
