//! `ebb drill`: the simulated incident, live. Loads config, scenario and plan (errors are
//! printed, located, before the terminal is touched), starts the sim source, runs the console.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use miette::{IntoDiagnostic, Report};
use tokio::sync::mpsc;

use super::{UiArgs, identity};
use crate::app::{DrillState, Model, TimelineKind};
use crate::config::{self, LoadOptions};
use crate::plan::PlanOutline;
use crate::sources::sim;
use crate::text::DisplayText;
use crate::time::Timestamp;
use crate::tui::event_loop::{self, Exit, LoopIo};
use crate::world::{Scenario, World};

/// How often the sim source reports, in real time.
pub const SIM_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// A built-in scenario name or a scenario file (default: backfill-slot-fill).
    #[arg(long)]
    pub scenario: Option<String>,
    /// A plan file to show (default: the plan the scenario names).
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Seed of the world's randomness; the same seed replays the same drill.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// World seconds per real second (0.1–100).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// A name to annotate the unix user with (shared drill terminals).
    #[arg(long)]
    pub operator: Option<String>,
    #[command(flatten)]
    pub ui: UiArgs,
}

/// Loads theme and keymap for drawing commands.
pub fn load_config(ui: &UiArgs) -> Result<config::Config, Report> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    config::load(&LoadOptions {
        theme: ui.theme.clone(),
        keymap: ui.keymap.clone(),
        no_color,
        config_dir: None,
    })
    .map_err(Report::new)
}

/// The scenario by name or path, and the plan to show with it.
pub fn load_scenario(
    scenario: Option<&str>,
    plan: Option<&std::path::Path>,
) -> Result<(Scenario, Option<PlanOutline>), Report> {
    let scenario =
        Scenario::load(scenario.unwrap_or(Scenario::default_name())).map_err(Report::new)?;
    let plan = match plan {
        Some(p) => Some(PlanOutline::load(p).map_err(Report::new)?),
        None => match scenario.plan.as_deref().and_then(PlanOutline::builtin) {
            Some(r) => Some(r.map_err(Report::new)?),
            None => None,
        },
    };
    Ok((scenario, plan))
}

/// The model a drill console starts from.
pub fn drill_model(
    scenario: &Scenario,
    plan: Option<PlanOutline>,
    operator: &str,
    seed: u64,
    speed: f64,
    now: Timestamp,
) -> Model {
    let mut model = Model::new(
        DisplayText::new(&format!("drill: {}", scenario.name)),
        DisplayText::new(operator),
        now,
    );
    model.drill = Some(DrillState {
        scenario: DisplayText::new(&scenario.name),
        title: DisplayText::new(&scenario.title),
        speed,
        frozen: false,
    });
    model.plan = plan;
    let line = format!(
        "drill started: {} (seed {seed}, speed ×{speed})",
        scenario.title
    );
    model.push_timeline(now, TimelineKind::System, DisplayText::new(&line));
    model
}

pub fn run(args: DrillArgs) -> Result<ExitCode, Report> {
    if !(0.1..=100.0).contains(&args.speed) {
        return Err(miette::miette!(
            "--speed must be between 0.1 and 100, got {}",
            args.speed
        ));
    }
    let cfg = load_config(&args.ui)?;
    let (scenario, plan) = load_scenario(args.scenario.as_deref(), args.plan.as_deref())?;
    let world = World::new(&scenario, args.seed);
    let operator = identity::operator(args.operator.as_deref());
    let model = drill_model(
        &scenario,
        plan,
        &operator,
        args.seed,
        args.speed,
        Timestamp::now(),
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    let exit = rt.block_on(async {
        let (obs_tx, obs_rx) = mpsc::channel(256);
        let (cmd_tx, cmd_rx) = mpsc::channel(16);
        let source = sim::spawn(
            std::sync::Arc::new(std::sync::Mutex::new(world)),
            args.speed,
            SIM_INTERVAL,
            obs_tx,
            cmd_rx,
        );
        let result = event_loop::run(
            model,
            &cfg.keymap,
            &cfg.theme,
            LoopIo {
                observations: obs_rx,
                drill: Some(cmd_tx),
            },
        )
        .await;
        source.abort();
        result
    });
    let (_, exit) = exit.into_diagnostic()?;
    Ok(match exit {
        Exit::Quit => ExitCode::SUCCESS,
        Exit::Signal(name) => {
            eprintln!("ebb: {name} received; terminal restored, drill ended.");
            ExitCode::from(match name {
                "SIGHUP" => 129,
                "SIGINT" => 130,
                _ => 143,
            })
        }
        Exit::TerminalGone => {
            eprintln!("ebb: the terminal went away; drill ended.");
            ExitCode::from(129)
        }
    })
}
