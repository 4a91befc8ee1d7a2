//! `ebb run PLAN` and `ebb resume RUN_ID`: drive a plan against its targets (real ones, or
//! the drill world), in the console or headless, and continue a run after a crash.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Args;
use miette::{IntoDiagnostic, Report};
use tokio::sync::mpsc;

use super::drill::{drill_model, load_config, load_plan, open_audit};
use super::{UiArgs, headless, identity};
use crate::action::Action;
use crate::control::Recorder;
use crate::plan::{Plan, PlanOutline, TargetKind};
use crate::runner::session::{self, RunSpec};
use crate::sim;
use crate::sim::world::{Scenario, SharedWorld, World};
use crate::store::{Store, spec_from_env};
use crate::time::Timestamp;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The plan file.
    pub plan: PathBuf,
    /// Run exactly one step, then pause (step mode).
    #[arg(long)]
    pub step: bool,
    /// Confirm manual steps without asking.
    #[arg(long)]
    pub yes: bool,
    /// No terminal UI: one line per event on stdout, control lines on stdin.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Rehearse the plan on the drill world: every target binds to the simulation and
    /// nothing reaches a real system (implied by --scenario and by `sim` targets).
    #[arg(long)]
    pub drill: bool,
    /// The drill world to bind the plan to (name or file; default: backfill-slot-fill).
    #[arg(long)]
    pub scenario: Option<String>,
    /// Seed of the drill world's randomness; the same seed replays the same drill.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// World seconds per real second (0.1–100).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// A SQLite file or postgres:// URL (default: EBB_STORE, else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// A name to annotate the unix user with in the audit log (shared terminals).
    #[arg(long)]
    pub operator: Option<String>,
    #[command(flatten)]
    pub kube: super::KubeArgs,
    #[command(flatten)]
    pub ui: UiArgs,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run to continue (`ebb runs list` shows them).
    pub run_id: String,
    /// No terminal UI: drive the run in this process, one line per event on stdout,
    /// control lines on stdin.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Confirm manual steps without asking.
    #[arg(long)]
    pub yes: bool,
    /// World seconds per real second for a drill (0.1–100).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// A SQLite file or postgres:// URL (default: EBB_STORE, else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// A name to annotate the unix user with in the audit log (shared terminals).
    #[arg(long)]
    pub operator: Option<String>,
    #[command(flatten)]
    pub ui: UiArgs,
}

/// What a headless session records with.
struct Headless<'a> {
    audit: crate::audit::AuditLog,
    digest: &'a str,
    json: bool,
}

/// Opens the audit log for a headless run, before the run is created or resumed: a run
/// that cannot be audited is not started (no orphan "created" run is left behind).
async fn headless_audit(
    store: &Store,
    annotation: Option<&str>,
    json: bool,
) -> Result<crate::audit::AuditLog, ExitCode> {
    open_audit(store, annotation).await.map_err(|why| {
        if json {
            println!("{}", serde_json::json!({ "AuditDown": { "reason": why } }));
        } else {
            println!(
                "AUDIT DOWN: {}",
                crate::text::DisplayText::new(&why).as_str()
            );
        }
        eprintln!("ebb: the audit log cannot be written, so no run control: {why}");
        ExitCode::from(super::EXIT_AUDIT_DOWN)
    })
}

/// Drives the run from stdin over an open audit log, as `ebb run` and `ebb resume` do.
async fn drive_headless(
    h: Headless<'_>,
    model: crate::app::Model,
    keymap: &crate::config::keymap::Keymap,
    handle: session::RunHandle,
    events: mpsc::Receiver<crate::engine::EngineEvent>,
    first: Action,
) -> Result<ExitCode, Report> {
    let rec = Recorder::new(Ok(h.audit), Some(h.digest.to_string()));
    headless::drive(model, keymap, handle, events, Some(first), h.json, rec)
        .await
        .into_diagnostic()
}

/// How often the world ticks in headless runs.
const HEADLESS_TICK: std::time::Duration = std::time::Duration::from_millis(100);

fn check_speed(speed: f64) -> Result<(), Report> {
    if (0.1..=100.0).contains(&speed) {
        Ok(())
    } else {
        Err(miette::miette!(
            "--speed must be between 0.1 and 100, got {speed}"
        ))
    }
}

/// Ticks the drill world without a screen (observations are dropped), until dropped.
/// Holds the source's command sender: the source stops when that channel closes.
struct Ticker(
    Option<(
        tokio::task::JoinHandle<()>,
        tokio::task::JoinHandle<()>,
        mpsc::Sender<sim::source::DrillCommand>,
    )>,
);

impl Drop for Ticker {
    fn drop(&mut self) {
        if let Some((source, drain, _commands)) = self.0.take() {
            source.abort();
            drain.abort();
        }
    }
}

fn tick_world(world: Option<SharedWorld>, speed: f64) -> Ticker {
    let Some(world) = world else {
        return Ticker(None);
    };
    let (obs_tx, mut obs_rx) = mpsc::channel(64);
    let (cmd_tx, cmd_rx) = mpsc::channel(4);
    // No screen to pace: tick the world finer so waits end closer to when they should.
    let source = sim::source::spawn(world, speed, HEADLESS_TICK, obs_tx, cmd_rx);
    let drain = tokio::spawn(async move { while obs_rx.recv().await.is_some() {} });
    Ticker(Some((source, drain, cmd_tx)))
}

/// Under a policy, a real run hosted in this process (headless): its operator must hold
/// the responder role, and the verbs that need a second person are refused there (nobody
/// can approve them in this process); returns those verbs. A refusal exits 7.
async fn headless_policy(store: &Store) -> Result<Vec<String>, Report> {
    match super::policy::in_force(store)
        .await
        .map_err(|e| miette::miette!("{e}"))?
    {
        None => Ok(Vec::new()),
        Some((_, policy)) => {
            let who = super::policy::identity(&crate::audit::Operator::from_env(None));
            if let crate::policy::Decision::Deny { reason } = policy.decide(&who, "run.resume") {
                return Err(Report::new(super::Refused(reason)));
            }
            Ok(policy.approval.needs_second_person.clone())
        }
    }
}

/// Under a policy with `[plans] require_approved`, a real run needs its plan's digest
/// approved (`ebb plan approve`); drills never do.
fn require_approved_plan(store_spec: &str, digest: &str) -> Result<(), Report> {
    let rt = super::setup::runtime()?;
    rt.block_on(async {
        let store = super::setup::open_store(store_spec).await?;
        let result = match super::policy::in_force(&store).await {
            Ok(Some((_, policy))) if policy.plans.require_approved => {
                super::policy::require_approved(&store, &policy, digest)
                    .await
                    .map_err(|why| Report::new(super::Refused(why)))
            }
            Ok(_) => Ok(()),
            Err(why) => Err(miette::miette!("{why}")),
        };
        store.close().await;
        result
    })
}

/// Whether a plan runs on the drill world: asked for, a scenario named, or `sim` targets.
fn binds_drill(plan: &Plan, drill: bool, scenario: Option<&str>) -> bool {
    drill || scenario.is_some() || plan.targets.values().any(|t| t.kind == TargetKind::Sim)
}

/// Each target as the go-ahead layer names it before a real run: its kind and where it
/// points, without credentials (`db (postgres) db.internal:5432/orders`).
fn where_targets_point(plan: &Plan) -> Vec<crate::text::DisplayText> {
    plan.targets
        .values()
        .map(|t| {
            let place = match (&t.url, t.kind) {
                (Some(url), TargetKind::Kubernetes) => format!("kubeconfig {}", url.origin()),
                (Some(url), kind) => match url.resolve() {
                    Ok(u) => location(&u, kind == TargetKind::Postgres),
                    Err(why) => format!("({why})"),
                },
                (None, TargetKind::Kubernetes) => "the default kubeconfig".to_string(),
                (None, _) => String::new(),
            };
            let mut line = format!("{} ({}) {place}", t.name, t.kind.name());
            if let Some(c) = &t.context {
                line.push_str(&format!(" context {c}"));
            }
            if let Some(n) = &t.namespace {
                line.push_str(&format!(" namespace {n}"));
            }
            crate::text::DisplayText::new(line.trim_end())
        })
        .collect()
}

/// `host:port` of a URL, never its user, password, path or query: a webhook's path can be
/// its secret. A PostgreSQL URL's path is the database's name, and is shown.
fn location(url: &str, with_database: bool) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("localhost");
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let path = if with_database { u.path() } else { "" };
            format!("{host}{port}{path}")
        }
        Err(_) => "(url does not parse)".to_string(),
    }
}

/// The console's model for a run on real targets.
pub(super) fn real_model(plan: &Plan, outline: PlanOutline, operator: &str) -> crate::app::Model {
    let now = Timestamp::now();
    let mut model = crate::app::Model::new(
        crate::text::DisplayText::new(&format!("run: {}", plan.name)),
        crate::text::DisplayText::new(operator),
        now,
    );
    model.plan = Some(PlanOutline {
        targets: where_targets_point(plan),
        ..outline
    });
    model.watched = plan
        .targets
        .values()
        .filter_map(|t| match t.kind {
            TargetKind::Postgres => Some(format!("pg:{}", t.name)),
            TargetKind::Kubernetes => Some(format!("kube:{}", t.name)),
            TargetKind::Prometheus => Some(format!("prom:{}", t.name)),
            _ => None,
        })
        .map(crate::sources::SourceId)
        .collect();
    model
}

pub fn run(args: RunArgs) -> Result<ExitCode, Report> {
    check_speed(args.speed)?;
    let cfg = load_config(&args.ui)?;
    let mut loaded = load_plan(&args.plan)?;
    let kube = args.kube.checked()?;
    kube.apply(&mut loaded.plan);
    let operator = identity::operator(args.operator.as_deref());
    let drill_plan = binds_drill(&loaded.plan, args.drill, args.scenario.as_deref());
    let (loaded, drill) = if drill_plan {
        let name = args
            .scenario
            .clone()
            .unwrap_or_else(|| Scenario::default_name().to_string());
        let scenario = Scenario::load(&name).map_err(Report::new)?;
        let loaded = super::drill::bound_to_drill(loaded, &scenario)?;
        let world: SharedWorld = Arc::new(Mutex::new(World::new(&scenario, args.seed)));
        (loaded, Some((name, scenario, world)))
    } else {
        (loaded, None)
    };
    let world = drill.as_ref().map(|(_, _, w)| w.clone());
    let spec = RunSpec {
        plan: Arc::new(loaded.plan.clone()),
        plan_source: loaded.source.clone(),
        plan_path: loaded.path.clone(),
        scenario: drill.as_ref().map(|(name, _, _)| name.clone()),
        seed: args.seed,
        operator: operator.clone(),
        auto_confirm: args.yes,
        exit_on_finish: args.headless,
        kube,
    };
    let store_spec = spec_from_env(args.store.as_deref());
    if drill.is_none() {
        require_approved_plan(&store_spec, loaded.plan.digest())?;
    }
    let mut model = match &drill {
        Some((_, scenario, _)) => drill_model(
            scenario,
            Some(loaded.outline.clone()),
            &operator,
            args.seed,
            args.speed,
            Timestamp::now(),
        ),
        None => real_model(&loaded.plan, loaded.outline.clone(), &operator),
    };
    model.operator_annotation = args.operator.clone();
    if !args.headless {
        super::require_terminal(
            "run",
            "without a terminal, run it with --headless (one line per event; --json for JSON lines)",
        )?;
        // A runner process drives the run; this console attaches to it as its driver.
        drop(model);
        let run_id = super::attach::create_hosted(
            &spec,
            &store_spec,
            args.speed,
            args.yes,
            args.operator.as_deref(),
        )?;
        return super::attach::console_on(
            &run_id,
            crate::app::Role::Driver,
            &store_spec,
            &cfg,
            args.operator.as_deref(),
        );
    }
    let rt = super::setup::runtime()?;
    let code = rt.block_on(async {
        let store = super::setup::open_store(&store_spec).await?;
        let audit = match headless_audit(&store, args.operator.as_deref(), args.json).await {
            Ok(a) => a,
            Err(code) => return Ok(code),
        };
        let second_person = if world.is_none() {
            headless_policy(&store).await?
        } else {
            Vec::new()
        };
        let ticker = tick_world(world.clone(), args.speed);
        let (ev_tx, ev_rx) = mpsc::channel(256);
        let ev_tx = super::link::scored_events(world.clone(), ev_tx);
        let mut handle = session::start(&store, spec, world, ev_tx)
            .await
            .map_err(|e| miette::miette!("{e}"))?;
        handle.second_person = second_person;
        model.timeline.clear();
        let first = if args.step {
            Action::RunStep
        } else {
            Action::RunResume
        };
        let code = drive_headless(
            Headless {
                audit,
                digest: loaded.plan.digest(),
                json: args.json,
            },
            model,
            &cfg.keymap,
            handle,
            ev_rx,
            first,
        )
        .await;
        drop(ticker);
        code
    });
    // stdin is read on a blocking thread that may never return: do not wait for it.
    rt.shutdown_background();
    code
}

pub fn resume(args: ResumeArgs) -> Result<ExitCode, Report> {
    check_speed(args.speed)?;
    let cfg = load_config(&args.ui)?;
    let operator = identity::operator(args.operator.as_deref());
    let store_spec = spec_from_env(args.store.as_deref());
    let rt = super::setup::runtime()?;
    if !args.headless {
        super::require_terminal(
            "resume",
            "without a terminal, resume it with --headless (one line per event; --json for JSON lines)",
        )?;
        // A new runner drives the run (settling an in-doubt step first); this console
        // attaches to it as its driver.
        rt.block_on(async {
            let store = super::setup::open_store(&store_spec).await?;
            if store.run(&args.run_id).await.map_err(|e| miette::miette!("{e}"))?.is_none() {
                return Err(miette::miette!(
                    "no run {}; `ebb runs list` shows the runs in this store",
                    args.run_id
                ));
            }
            if let Some(holder) = super::attach::live_runner(&store, &args.run_id).await {
                return Err(miette::miette!(
                    "run {} is driven by the runner {holder}, which is alive; `ebb attach {}` drives it from here",
                    args.run_id,
                    args.run_id
                ));
            }
            super::attach::spawn_runner(
                &store,
                &store_spec,
                &args.run_id,
                args.speed,
                args.yes,
                args.operator.as_deref(),
            )
            .await
            .map_err(|e| miette::miette!("cannot resume {}: {e}", args.run_id))?;
            store.close().await;
            Ok::<_, Report>(())
        })?;
        drop(rt);
        return super::attach::console_on(
            &args.run_id,
            crate::app::Role::Driver,
            &store_spec,
            &cfg,
            args.operator.as_deref(),
        );
    }
    let (ev_tx, ev_rx) = mpsc::channel(256);
    let resumed = rt.block_on(async {
        let store = super::setup::open_store(&store_spec).await?;
        let audit = match headless_audit(&store, args.operator.as_deref(), args.json).await {
            Ok(a) => Some(a),
            Err(code) => return Ok(Err(code)),
        };
        let real = store
            .run(&args.run_id)
            .await
            .map_err(|e| miette::miette!("{e}"))?
            .is_some_and(|r| r.scenario.is_none());
        let second_person = if real {
            headless_policy(&store)
                .await
                .map_err(|e| e.wrap_err(format!("cannot resume {}", args.run_id)))?
        } else {
            Vec::new()
        };
        let mut resumed = session::resume(&store, &args.run_id, &operator, args.yes, true, ev_tx)
            .await
            .map_err(|e| miette::miette!("cannot resume {}: {e}", args.run_id))?;
        resumed.handle.second_person = second_person;
        Ok::<_, Report>(Ok((resumed, audit)))
    })?;
    let (resumed, audit) = match resumed {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let outline = PlanOutline::from_plan(&resumed.plan);
    let seed = resumed.row.seed.unwrap_or(42);
    let world = resumed.drill.as_ref().map(|(_, w)| w.clone());
    let mut model = match &resumed.drill {
        Some((scenario, _)) => drill_model(
            scenario,
            Some(outline),
            &operator,
            seed,
            args.speed,
            Timestamp::now(),
        ),
        None => real_model(&resumed.plan, outline, &operator),
    };
    model.timeline.clear();
    model.operator_annotation = args.operator.clone();
    let Some(audit) = audit else {
        return Err(miette::miette!(
            "a headless resume opens its audit log first"
        ));
    };
    let code = rt.block_on(async {
        let ticker = tick_world(world, args.speed);
        let code = drive_headless(
            Headless {
                audit,
                digest: resumed.plan.digest(),
                json: args.json,
            },
            model,
            &cfg.keymap,
            resumed.handle,
            ev_rx,
            Action::RunResume,
        )
        .await;
        drop(ticker);
        code
    });
    rt.shutdown_background();
    code
}

#[cfg(test)]
mod where_tests {
    use super::*;
    use crate::diag::SourceFile;

    #[test]
    fn the_go_ahead_names_where_each_target_points_without_credentials() {
        let src = "[plan]\nname = \"p\"\n\n[targets.db]\nkind = \"postgres\"\nurl = \"file:URL\"\n\n[targets.hook]\nkind = \"http\"\nurl = \"https://hooks.example.com/services/T0KEN\"\n\n[targets.k8s]\nkind = \"kubernetes\"\ncontext = \"prod\"\nnamespace = \"orders\"\n\n[[step]]\nid = \"a\"\nkind = \"manual\"\ninstruction = \"go\"\n";
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("url");
        std::fs::write(
            &secret,
            "postgres://ebb:hunter2@db.internal:5432/orders?sslmode=verify-full\n",
        )
        .unwrap();
        let src = src.replace("file:URL", &format!("file:{}", secret.display()));
        let plan = Plan::parse(&SourceFile::new("p.toml", src)).unwrap();
        let lines: Vec<String> = where_targets_point(&plan)
            .iter()
            .map(|t| t.as_str().to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "db (postgres) db.internal:5432/orders",
                "hook (http) hooks.example.com",
                "k8s (kubernetes) the default kubeconfig context prod namespace orders",
            ]
        );
    }
}
