//! `ebb drill`: the simulated incident, live. Loads config, scenario and plan (errors are
//! printed, located, before the terminal is touched), starts the sim source, runs the console.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use miette::{IntoDiagnostic, Report};
use tokio::sync::mpsc;

use std::sync::{Arc, Mutex};

use super::link::{self, Start};
use super::{UiArgs, identity};
use crate::app::EngineRequest;
use crate::app::{DrillState, Model, TimelineKind};
use crate::config::{self, LoadOptions};
use crate::control::{Delivery, Recorder};
use crate::diag::SourceFile;
use crate::engine::Status;
use crate::plan::Plan;
use crate::plan::PlanOutline;
use crate::runner::session::RunSpec;
use crate::sim;
use crate::sim::world::SharedWorld;
use crate::sim::world::{Scenario, World};
use crate::store::Store;
use crate::text::DisplayText;
use crate::time::Timestamp;
use crate::tui::event_loop::{self, Exit, LoopIo};

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
    /// Where runs are journaled: a SQLite file or a postgres:// URL (default: EBB_STORE,
    /// else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// Facilitate a team drill: a runner hosts it (participants `ebb attach RUN`), and this
    /// console drives its world (faults, clock, announcements) and shows its score.
    #[arg(long)]
    pub facilitate: bool,
    #[command(flatten)]
    pub kube: super::KubeArgs,
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

/// A plan as a run needs it: typed, with the text it was read from (journaled with the
/// run so a resume runs exactly it) and the outline the Plan pane shows.
#[derive(Clone, Debug)]
pub struct LoadedPlan {
    pub plan: Plan,
    pub source: String,
    pub path: String,
    pub outline: PlanOutline,
}

/// Reads and validates a plan file; every error is reported, located.
pub fn load_plan(path: &std::path::Path) -> Result<LoadedPlan, Report> {
    let file = SourceFile::read(path).map_err(Report::new)?;
    from_source(file)
}

fn from_source(file: SourceFile) -> Result<LoadedPlan, Report> {
    let plan = Plan::parse(&file).map_err(Report::new)?;
    let outline = PlanOutline::from_plan(&plan);
    Ok(LoadedPlan {
        plan,
        source: file.text,
        path: file.name,
        outline,
    })
}

/// `loaded`, when a drill can bind every one of its targets to `scenario`'s world;
/// otherwise the targets it cannot, located. A drill never reaches a real system.
pub fn bound_to_drill(loaded: LoadedPlan, scenario: &Scenario) -> Result<LoadedPlan, Report> {
    let unbound: Vec<(String, String)> =
        match crate::sim::bind::Binding::for_plan(&loaded.plan, scenario) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| (e.target, e.why)).collect(),
        };
    let file = SourceFile::new(loaded.path.clone(), loaded.source.clone());
    crate::plan::bind::located(&file, &unbound).map_err(Report::new)?;
    Ok(loaded)
}

/// The scenario by name or path, and the plan to run with it (the given file, else the
/// plan the scenario names).
pub fn load_scenario(
    scenario: Option<&str>,
    plan: Option<&std::path::Path>,
) -> Result<(Scenario, Option<LoadedPlan>), Report> {
    let scenario =
        Scenario::load(scenario.unwrap_or(Scenario::default_name())).map_err(Report::new)?;
    let plan = match plan {
        Some(p) => Some(bound_to_drill(load_plan(p)?, &scenario)?),
        None => match scenario
            .plan
            .as_deref()
            .and_then(PlanOutline::builtin_source)
        {
            Some((name, text)) => Some(bound_to_drill(
                from_source(SourceFile::new(name, text))?,
                &scenario,
            )?),
            None => None,
        },
    };
    Ok((scenario, plan))
}

/// Opens the audit log in `store` for this console session.
pub async fn open_audit(
    store: &Store,
    annotation: Option<&str>,
) -> Result<crate::audit::AuditLog, String> {
    let session = format!("s-{}-{}", Timestamp::now().0, std::process::id());
    crate::audit::AuditLog::open(
        store,
        crate::audit::KeySource::Default,
        session,
        crate::audit::Operator::from_env(annotation),
    )
    .await
    .map_err(|e| e.to_string())
}

/// The most recent records of the audit log as Timeline entries (oldest first), so a
/// console opened after a crash or by another responder shows what was done before it.
pub async fn audit_history(store: &Store, limit: usize) -> Vec<crate::app::TimelineEntry> {
    use crate::audit::{AuditRecord, RecordKind};
    let Ok(Some(head)) = store.audit_head().await else {
        return Vec::new();
    };
    let q = crate::store::AuditQuery {
        after_seq: head.seq.saturating_sub(limit as u64 * 4),
        limit: None,
    };
    let rows = store.audit_rows(q).await.unwrap_or_default();
    let mut out: Vec<crate::app::TimelineEntry> = rows
        .iter()
        .filter_map(|r| serde_json::from_str::<AuditRecord>(&r.record).ok())
        .filter_map(|r| {
            let what = match &r.kind {
                RecordKind::Intent => r.action.clone().map(|a| match &r.key {
                    Some(k) => format!("key {k} · {a}"),
                    None => a,
                })?,
                RecordKind::Note => format!(
                    "note: {}",
                    r.text
                        .clone()
                        .unwrap_or_default()
                        .lines()
                        .next()
                        .unwrap_or("")
                ),
                RecordKind::Outcome => format!(
                    "{} {}",
                    r.action.clone().unwrap_or_default(),
                    r.outcome.clone().unwrap_or_default()
                ),
                RecordKind::Engine => r.text.clone().or(r.action.clone())?,
                _ => return None,
            };
            Some(crate::app::TimelineEntry {
                at: Timestamp(r.at_ns.div_euclid(1_000_000)),
                kind: crate::app::TimelineKind::System,
                text: DisplayText::new(&format!("earlier · {}: {what}", r.operator.user)),
            })
        })
        .collect();
    let skip = out.len().saturating_sub(limit);
    out.drain(..skip);
    out
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
    let store_spec = crate::store::spec_from_env(args.store.as_deref());
    if args.facilitate {
        // A refusal says so whatever the terminal: it is the answer with one too.
        super::setup::runtime()?.block_on(async {
            let store = super::setup::open_store(&store_spec).await?;
            let allowed = super::attach::may_facilitate(&store, args.operator.as_deref()).await;
            store.close().await;
            allowed
        })?;
    }
    super::require_terminal(
        "drill",
        "without a terminal, drill a plan with `ebb run PLAN --drill --headless` (--json for JSON lines)",
    )?;
    let world = World::new(&scenario, args.seed);
    let operator = identity::operator(args.operator.as_deref());
    let mut model = drill_model(
        &scenario,
        plan.as_ref().map(|p| p.outline.clone()),
        &operator,
        args.seed,
        args.speed,
        Timestamp::now(),
    );
    model.operator_annotation = args.operator.clone();
    let world: SharedWorld = Arc::new(Mutex::new(world));
    // A drill binds every target to the world: --context/-n only rename what it shows.
    let kube = args.kube.checked()?;
    let start = plan.map(|mut p| Start::New {
        spec: RunSpec {
            plan: Arc::new({
                kube.apply(&mut p.plan);
                p.plan
            }),
            plan_source: p.source,
            plan_path: p.path,
            scenario: Some(
                args.scenario
                    .clone()
                    .unwrap_or_else(|| Scenario::default_name().to_string()),
            ),
            seed: args.seed,
            operator: operator.clone(),
            auto_confirm: false,
            exit_on_finish: false,
            kube: kube.clone(),
        },
        world: Some(world.clone()),
    });
    if args.facilitate {
        let Some(Start::New { spec, .. }) = start else {
            return Err(miette::miette!(
                "scenario {} has no plan: a facilitated drill needs one for its participants (--plan FILE)",
                scenario.name
            ));
        };
        drop(model);
        return facilitated(
            spec,
            args.speed,
            &store_spec,
            &cfg,
            args.operator.as_deref(),
        );
    }
    console(
        model,
        &cfg,
        Watched::Drill(world, args.speed),
        start,
        store_spec,
    )
}

/// A team drill: the run is created, a runner hosts it and its world, and this console
/// attaches as its facilitator. Participants attach to the run id the header shows.
fn facilitated(
    spec: RunSpec,
    speed: f64,
    store_spec: &str,
    cfg: &config::Config,
    annotation: Option<&str>,
) -> Result<ExitCode, Report> {
    let run_id = super::attach::create_hosted(&spec, store_spec, speed, false, annotation)?;
    eprintln!("ebb: drill {run_id} is hosted by its runner; participants: ebb attach {run_id}");
    super::attach::console_on(
        &run_id,
        crate::app::Role::Facilitator,
        store_spec,
        cfg,
        annotation,
    )
}

/// What the console's panes are fed by.
pub enum Watched {
    /// The drill world, at a speed.
    Drill(SharedWorld, f64),
    /// Real servers, one source task each.
    Servers(Vec<crate::backends::source::SourceTarget>),
}

/// Runs the console (on a drill world when given), with a run link when there is a plan.
/// Shared by `ebb drill`, `ebb run` and `ebb resume`.
pub fn console(
    model: Model,
    cfg: &config::Config,
    watched: Watched,
    start: Option<Start>,
    store_spec: String,
) -> Result<ExitCode, Report> {
    let rt = super::setup::runtime()?;
    console_in(
        &rt,
        model,
        cfg,
        watched,
        start,
        store_spec,
        mpsc::channel(256),
    )
}

/// The console on an existing runtime (a resumed run's actor already lives on it);
/// `events` is the channel the run's engine events arrive on.
#[allow(clippy::too_many_arguments)]
pub fn console_in(
    rt: &tokio::runtime::Runtime,
    model: Model,
    cfg: &config::Config,
    watched: Watched,
    start: Option<Start>,
    store_spec: String,
    events: (
        mpsc::Sender<crate::engine::EngineEvent>,
        mpsc::Receiver<crate::engine::EngineEvent>,
    ),
) -> Result<ExitCode, Report> {
    let plan_digest = start
        .as_ref()
        .map(|Start::New { spec, .. }| spec.plan.digest().to_string());
    let exit = rt.block_on(async {
        // The audit log is opened before the terminal is taken; if it cannot be, the
        // console still shows everything but refuses run control (fail closed).
        // One store for the audit log and the Timeline's history.
        let (audit, history, store) = match Store::open(&store_spec).await {
            Ok(store) => (
                open_audit(&store, model.operator_annotation.as_deref()).await,
                audit_history(&store, 40).await,
                Some(store),
            ),
            Err(e) => (
                Err(crate::store::open_failed(&store_spec, &e)),
                Vec::new(),
                None,
            ),
        };
        // A console with a run records what drives its screen, as its audit session; a
        // drill's run gets its id when it starts (the tape learns it from the engine).
        let tape = match (&store, &audit, &start) {
            (Some(store), Ok(log), Some(_)) => Some(crate::replay::Tape::start(
                store.clone(),
                crate::replay::TapeTarget {
                    run_id: None,
                    console: log.session().to_string(),
                    operator: model.operator.as_str().to_string(),
                },
                crate::replay::Cap::default(),
            )),
            _ => None,
        };
        let recorder = Recorder::new(audit, plan_digest);
        let (obs_tx, obs_rx) = mpsc::channel(256);
        let (cmd_tx, cmd_rx) = mpsc::channel(16);
        let (drill, sources) = match watched {
            Watched::Drill(world, speed) => (
                Some(cmd_tx),
                vec![sim::source::spawn(
                    world,
                    speed,
                    SIM_INTERVAL,
                    obs_tx,
                    cmd_rx,
                )],
            ),
            // One task per server; none of them can hold up the screen.
            Watched::Servers(targets) => {
                let tasks = targets
                    .into_iter()
                    .map(|t| t.spawn(obs_tx.clone()))
                    .collect();
                (None, tasks)
            }
        };
        let (req_tx, req_rx) = mpsc::channel(32);
        let (ev_tx, ev_rx) = events;
        let link = start.map(|s| link::spawn(store_spec, s, req_rx, ev_tx));
        let mut io = LoopIo {
            recorder,
            observations: obs_rx,
            drill,
            engine: link.as_ref().map(|_| req_tx.clone()),
            engine_events: link.as_ref().map(|_| ev_rx),
            delivery: Delivery::Local,
            followed: None,
            tape: tape.map(|t| Box::new(t) as Box<dyn crate::replay::recording::Recording>),
        };
        let mut model = model;
        // The Timeline starts from the audit log: what was done before this console opened
        // (newest first, below this session's first entry).
        for e in history.into_iter().rev() {
            model.timeline.push_back(e);
        }
        model.audit_down = io.recorder.down.clone();
        model.runnable = io.engine.is_some();
        let result = event_loop::run(model, &cfg.keymap, &cfg.theme, &mut io).await;
        // Leaving: the run pauses at its next safe point and stays resumable.
        let reason = match &result {
            Ok((_, Exit::Signal(name))) => format!("{name}: the console was told to stop"),
            Ok((_, Exit::TerminalGone)) => "the terminal went away".to_string(),
            _ => "the console was closed".to_string(),
        };
        if let Some(link) = link {
            let _ = req_tx.send(EngineRequest::Detach { reason }).await;
            let _ = link.await;
        }
        // What the engine said while detaching goes on record too; then the session is sealed.
        if let Some(rx) = io.engine_events.as_mut() {
            while let Ok(ev) = rx.try_recv() {
                io.recorder.engine(&ev).await;
            }
        }
        io.recorder.close().await;
        let unsealed = io.recorder.unsealed().is_some();
        for s in sources {
            s.abort();
        }
        result.map(|(model, exit)| (model, exit, unsealed))
    });
    let (model, exit, unsealed) = exit.into_diagnostic()?;
    if let Some(run) = &model.run
        && !matches!(run.status, Status::Finished(_))
    {
        eprintln!(
            "ebb: run {} is paused and resumable: ebb resume {}",
            run.run_id, run.run_id
        );
    }
    Ok(exit_code(exit, unsealed))
}

/// The exit status of a console that ended with `exit`; a session that could not be
/// sealed exits 5.
pub fn exit_code(exit: Exit, unsealed: bool) -> ExitCode {
    match exit {
        // The session's end is not on record: say so in the exit status too.
        Exit::Quit if unsealed => ExitCode::from(super::EXIT_UNSEALED),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every built-in scenario opens with the plan it names, embedded, bound to its world.
    #[test]
    fn every_builtin_scenario_opens_with_its_plan() {
        for name in Scenario::builtin_names() {
            let (scenario, plan) =
                load_scenario(Some(name), None).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let wanted = scenario.plan.clone().unwrap_or_default();
            assert_eq!(wanted, format!("{name}.toml"), "{name} names its own plan");
            let plan = plan.unwrap_or_else(|| panic!("{name} opens with no plan"));
            assert_eq!(
                plan.path,
                format!("(embedded) examples/plans/{wanted}"),
                "{name}"
            );
            assert!(!plan.outline.steps.is_empty(), "{name}");
        }
    }

    /// The default drill (`ebb drill` with no arguments) opens with its plan too.
    #[test]
    fn the_default_drill_opens_with_its_plan() {
        let (scenario, plan) = load_scenario(None, None).unwrap();
        assert_eq!(scenario.name, Scenario::default_name());
        assert_eq!(
            plan.map(|p| p.outline.name.as_str().to_string()).as_deref(),
            Some("orders-0042-rollback")
        );
    }
}
