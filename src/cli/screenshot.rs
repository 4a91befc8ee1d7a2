//! `ebb screenshot`: replays a drill deterministically to a point in time (or, with
//! `--replay RUN`, a console's recording) and renders the screen to SVG through the TUI's view.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use miette::{IntoDiagnostic, Report};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::drill::{SIM_INTERVAL, drill_model, load_scenario};
use crate::app::{Model, Msg, update};
use crate::config::{self, keymap::Keymap, theme::Theme};
use crate::plan::PlanOutline;
use crate::sim;
use crate::sim::world::{Scenario, World};
use crate::time::Timestamp;
use crate::tui::{svg, view};

/// The wall-clock instant screenshots start at, so they are the same on every machine.
pub const SCREENSHOT_EPOCH: Timestamp = Timestamp(1_795_489_200_000); // 2026-11-24T03:00:00Z

/// The most world time `--at` replays: one day.
pub const MAX_AT: u64 = 86_400;

#[derive(Debug, Args)]
pub struct ScreenshotArgs {
    /// A built-in scenario name or a scenario file (default: backfill-slot-fill).
    #[arg(long)]
    pub scenario: Option<String>,
    /// A plan file to show (default: the plan the scenario names).
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// When to render. For a scenario: seconds of world time to replay (at most 86400,
    /// one day; default 300). With --replay: an RFC 3339 time (2026-11-24T03:05:00Z) or an
    /// offset from the recording's start (90, 90s, 5m, +1h2m); default its last moment.
    #[arg(long, value_parser = super::screenshot_replay::parse_at)]
    pub at: Option<super::screenshot_replay::At>,
    /// Render what a console of this run showed, from its recording (at its size then).
    #[arg(long, value_name = "RUN")]
    pub replay: Option<String>,
    /// With --replay: the console (its session id); default the run's only or first
    /// driving console.
    #[arg(long, requires = "replay")]
    pub console: Option<String>,
    /// With --replay: a SQLite file or postgres:// URL (default: EBB_STORE, else
    /// $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, requires = "replay")]
    pub store: Option<String>,
    /// Terminal size, COLSxROWS (a replay renders at the console's size).
    #[arg(long, default_value = "160x48")]
    pub size: String,
    /// A preset theme name.
    #[arg(long, default_value = "dark")]
    pub theme: String,
    /// Seed of the drill world's randomness; the same seed draws the same screen.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The operator shown in the header.
    #[arg(long, default_value = "oncall")]
    pub operator: String,
    /// Where to write the SVG.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
}

/// Parses `160x48`.
pub fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected COLSxROWS like 160x48, got {s:?}"))?;
    let w: u16 = w
        .trim()
        .parse()
        .map_err(|_| format!("bad width in {s:?}"))?;
    let h: u16 = h
        .trim()
        .parse()
        .map_err(|_| format!("bad height in {s:?}"))?;
    if !(1..=1000).contains(&w) || !(1..=1000).contains(&h) {
        return Err(format!("size {s:?} is out of range (1–1000 each way)"));
    }
    Ok((w, h))
}

/// The model of a drill replayed for `at` seconds from `SCREENSHOT_EPOCH`.
pub fn model_at(
    scenario: &Scenario,
    plan: Option<PlanOutline>,
    seed: u64,
    at: u64,
    operator: &str,
    keymap: &Keymap,
) -> Model {
    let mut world = World::new(scenario, seed);
    let mut model = drill_model(scenario, plan, operator, seed, 1.0, SCREENSHOT_EPOCH);
    for obs in sim::source::replay(&mut world, SCREENSHOT_EPOCH, at, SIM_INTERVAL) {
        let t = obs.at;
        update(&mut model, keymap, Msg::Tick(t));
        update(&mut model, keymap, Msg::Observation(obs));
    }
    update(
        &mut model,
        keymap,
        Msg::Tick(SCREENSHOT_EPOCH.plus(std::time::Duration::from_secs(at))),
    );
    model
}

/// Renders a model into a fresh buffer of `width`×`height`.
pub fn render_buffer(
    model: &Model,
    keymap: &Keymap,
    theme: &Theme,
    width: u16,
    height: u16,
) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    view::render(model, keymap, theme, area, &mut buf);
    buf
}

pub fn run(args: ScreenshotArgs) -> Result<ExitCode, Report> {
    let theme = config::theme_by_name(&args.theme).map_err(Report::new)?;
    if let Some(run_id) = &args.replay {
        return super::screenshot_replay::run(&args, run_id, &theme);
    }
    let (w, h) = parse_size(&args.size).map_err(|e| miette::miette!("--size: {e}"))?;
    let keymap = config::keymap_by_name("default").map_err(Report::new)?;
    let at = match args.at {
        None => 300,
        Some(super::screenshot_replay::At::Seconds(s)) => s,
        Some(other) => {
            return Err(miette::miette!(
                "--at {other} is for --replay; a scenario screenshot takes seconds of world time"
            ));
        }
    };
    let (scenario, plan) = load_scenario(args.scenario.as_deref(), args.plan.as_deref())?;
    let model = model_at(
        &scenario,
        plan.map(|p| p.outline),
        args.seed,
        at,
        &args.operator,
        &keymap,
    );
    let buf = render_buffer(&model, &keymap, &theme, w, h);
    std::fs::write(&args.output, svg::to_svg(&buf, &theme)).into_diagnostic()?;
    Ok(ExitCode::SUCCESS)
}
