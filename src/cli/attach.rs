//! `ebb attach RUN` and `ebb watch RUN`: a console on a run that a runner process drives,
//! following it through the store; `ebb run` and `ebb resume` attach the same way.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use miette::{IntoDiagnostic, Report};
use tokio::sync::mpsc;

use super::UiArgs;
use super::drill::{audit_history, drill_model, open_audit};
use crate::app::{Model, Role, Team};
use crate::config;
use crate::control::{BusLink, Delivery, Recorder, presence::Presence};
use crate::plan::{Plan, PlanOutline};
use crate::sim::world::Scenario;
use crate::store::{Store, spec_from_env};
use crate::time::Timestamp;
use crate::tui::event_loop::{self, Exit, LoopIo};

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The run's id (`ebb runs list` shows them).
    pub run_id: String,
    /// A SQLite file or postgres:// URL (default: EBB_STORE, else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// A name to annotate the unix user with in the audit log.
    #[arg(long)]
    pub operator: Option<String>,
    /// No terminal: followed events as lines on stdout, control lines on stdin
    /// (`approve ID REASON`, `deny ID REASON` among them).
    #[arg(long)]
    pub headless: bool,
    /// With --headless: JSON lines on stdout.
    #[arg(long, requires = "headless")]
    pub json: bool,
    /// Facilitate the drill: its world (faults, clock, announcements) and its score, not
    /// its run. Under a policy, the policy must grant the facilitator role.
    #[arg(long, conflicts_with = "headless")]
    pub facilitate: bool,
    #[command(flatten)]
    pub ui: UiArgs,
}

pub fn attach(args: AttachArgs) -> Result<ExitCode, Report> {
    let role = if args.facilitate {
        Role::Facilitator
    } else {
        Role::Driver
    };
    attach_as(args, role)
}

pub fn watch(args: AttachArgs) -> Result<ExitCode, Report> {
    attach_as(args, Role::Watcher)
}

fn attach_as(args: AttachArgs, role: Role) -> Result<ExitCode, Report> {
    let cfg = super::drill::load_config(&args.ui)?;
    let store_spec = spec_from_env(args.store.as_deref());
    if args.headless {
        return super::attach_headless::console_headless(
            &args.run_id,
            role,
            &store_spec,
            &cfg,
            args.operator.as_deref(),
            args.json,
        );
    }
    let verb = if role == Role::Watcher {
        "watch"
    } else {
        "attach"
    };
    super::require_terminal(
        verb,
        &format!("without a terminal, use `ebb {verb} RUN --headless` (--json for JSON lines)"),
    )?;
    console_on(
        &args.run_id,
        role,
        &store_spec,
        &cfg,
        args.operator.as_deref(),
    )
}

/// The console's model for run `row`: its plan's outline, and the drill's header when the
/// run is bound to a drill world.
pub(super) fn model_for(
    row: &crate::store::RunRow,
    plan: &Plan,
    operator: &str,
) -> Result<Model, Report> {
    let outline = PlanOutline::from_plan(plan);
    Ok(match &row.scenario {
        Some(name) => {
            let scenario = Scenario::load(name).map_err(Report::new)?;
            drill_model(
                &scenario,
                Some(outline),
                operator,
                row.seed.unwrap_or(42),
                1.0,
                Timestamp::now(),
            )
        }
        None => super::run::real_model(plan, outline, operator),
    })
}

/// The store (a console's pool), run `run_id`'s row and its journaled plan: what every
/// console attached to a run starts from.
pub(super) async fn open_run(
    store_spec: &str,
    run_id: &str,
) -> Result<(Store, crate::store::RunRow, Plan), Report> {
    let store = Store::open_for_console(store_spec)
        .await
        .map_err(|e| miette::miette!("{}", crate::store::open_failed(store_spec, &e)))?;
    let row = store
        .run(run_id)
        .await
        .map_err(|e| miette::miette!("{e}"))?
        .ok_or_else(|| {
            miette::miette!(
                "no run {run_id} in {}; `ebb runs list` shows the runs",
                store.identity()
            )
        })?;
    let plan = crate::runner::session::journaled_plan(&row)
        .map_err(|e| miette::miette!("run {run_id}: its journaled plan no longer parses: {e}"))?;
    Ok((store, row, plan))
}

/// A facilitator's console on drill `row`: its scenario's fault menu. Refused for a run
/// on real targets, and under a policy that does not make the operator a facilitator.
async fn facilitator_for(
    store: &Store,
    row: &crate::store::RunRow,
    annotation: Option<&str>,
) -> Result<crate::app::facilitate::Facilitator, Report> {
    let Some(name) = &row.scenario else {
        return Err(miette::miette!(
            "run {} is not a drill: there is nothing to facilitate (attach without --facilitate)",
            row.id
        ));
    };
    may_facilitate(store, annotation).await?;
    let scenario = Scenario::load(name).map_err(Report::new)?;
    Ok(crate::app::facilitate::Facilitator {
        menu: crate::sim::facilitate::menu(&scenario),
        seen: Default::default(),
    })
}

/// Refuses, before anything starts, an operator the policy in force does not make a
/// facilitator; without a policy, `--facilitate` is enough.
pub(super) async fn may_facilitate(store: &Store, annotation: Option<&str>) -> Result<(), Report> {
    match super::policy::in_force(store).await {
        Ok(Some((_, policy))) => {
            let who = super::policy::identity(&crate::audit::Operator::from_env(annotation));
            if policy
                .roles_of(&who)
                .contains(&crate::policy::PolicyRole::Facilitator)
            {
                Ok(())
            } else {
                Err(Report::new(super::Refused(format!(
                    "the policy in force does not make {} a facilitator",
                    who.user
                ))))
            }
        }
        Ok(None) => Ok(()),
        Err(e) => Err(miette::miette!("cannot read the policy: {e}")),
    }
}

/// The actions `who` may not take under `policy`, with the policy's reason.
fn denied_actions(
    policy: &crate::policy::Policy,
    who: &crate::policy::Identity,
) -> std::collections::BTreeMap<String, String> {
    crate::action::Action::ALL
        .iter()
        // Viewing is never dimmed: only what needs a role.
        .filter(|a| crate::policy::role_needed(a.name()).is_some())
        .filter_map(|a| match policy.decide(who, a.name()) {
            crate::policy::Decision::Deny { reason } => Some((a.name().to_string(), reason)),
            _ => None,
        })
        .collect()
}

/// A console attached to run `run_id` as `role`, until the operator leaves or the terminal
/// goes. Run control goes to the runner as request rows, each written with its intent.
pub fn console_on(
    run_id: &str,
    role: Role,
    store_spec: &str,
    cfg: &config::Config,
    annotation: Option<&str>,
) -> Result<ExitCode, Report> {
    let operator = super::identity::operator(annotation);
    let rt = super::setup::runtime()?;
    let result = rt.block_on(async {
        let (store, row, plan) = open_run(store_spec, run_id).await?;
        let mut model = model_for(&row, &plan, &operator)?;
        if role == Role::Facilitator {
            model.facilitator = Some(facilitator_for(&store, &row, annotation).await?);
        }
        model.operator_annotation = annotation.map(str::to_string);
        model.timeline.clear();
        for e in audit_history(&store, 40).await.into_iter().rev() {
            model.timeline.push_back(e);
        }
        let mut team = Team::new(role, plan.on_detach.name());
        team.policy = match super::policy::in_force(&store).await {
            Ok(Some((row, policy))) => {
                let who = super::policy::identity(&crate::audit::Operator::from_env(annotation));
                team.denied = denied_actions(&policy, &who);
                Some(format!("policy v{} {}", row.version, row.digest))
            }
            Ok(None) => None,
            Err(e) => Some(format!("policy unreadable: {e}")),
        };
        model.team = Some(team);
        model.runnable = true;
        let audit = open_audit(&store, annotation).await;
        let console = match &audit {
            Ok(log) => log.session().to_string(),
            Err(_) => format!("c-{}-{}", Timestamp::now().0, std::process::id()),
        };
        let mut recorder = Recorder::attached(audit, Some(plan.digest().to_string()));
        model.audit_down = recorder.down.clone();
        let presence = Presence::attach(&store, &console, run_id, &operator, role)
            .await
            .map_err(|e| miette::miette!("cannot attach to run {run_id}: {e}"))?;
        recorder
            .presence(
                "console.attach",
                run_id,
                serde_json::json!({ "role": role.name(), "console": console,
                    "host": crate::audit::record::hostname(), "pid": std::process::id() }),
            )
            .await;
        // A run on real targets: this console watches them itself; a drill's world is
        // the runner's, and its observations come through the store.
        let (obs_tx, obs_rx) = mpsc::channel(256);
        let sources: Vec<tokio::task::JoinHandle<()>> = if row.scenario.is_none() {
            super::watch::plan_sources(&plan)?
                .into_iter()
                .map(|t| t.spawn(obs_tx.clone()))
                .collect()
        } else {
            Vec::new()
        };
        drop(obs_tx);
        let (follow_tx, follow_rx) = mpsc::channel(512);
        let follower = crate::control::follow::spawn(
            store.clone(),
            run_id.to_string(),
            console.clone(),
            role,
            follow_tx,
        );
        let mut io = LoopIo {
            recorder,
            observations: obs_rx,
            drill: None,
            engine: None,
            engine_events: None,
            delivery: Delivery::Bus(BusLink {
                run_id: run_id.to_string(),
                console: console.clone(),
                role,
            }),
            followed: Some(follow_rx),
            tape: Some(Box::new(crate::replay::Tape::start(
                store.clone(),
                crate::replay::TapeTarget {
                    run_id: Some(run_id.to_string()),
                    console: console.clone(),
                    operator: operator.clone(),
                },
                crate::replay::Cap::default(),
            ))),
        };
        let attached_at = std::time::Instant::now();
        let result = event_loop::run(model, &cfg.keymap, &cfg.theme, &mut io).await;
        // For the watcher budget (scripts/bench-team): what following the run cost the store.
        tracing::info!(
            statements = store.statements(),
            seconds = attached_at.elapsed().as_secs_f64(),
            role = role.name(),
            "store use"
        );
        // The loop recorded a lost terminal or a signal itself (`console.lost`).
        let (how, detached) = match &result {
            Ok((_, Exit::Quit)) => ("detached".to_string(), true),
            Ok((_, Exit::Signal(name))) => (format!("lost: {name}"), false),
            Ok((_, Exit::TerminalGone)) => ("lost: the terminal went away".to_string(), false),
            Err(e) => (format!("lost: {e}"), false),
        };
        follower.abort();
        for s in sources {
            s.abort();
        }
        presence.leave(&how).await;
        if detached {
            io.recorder
                .presence(
                    "console.detach",
                    run_id,
                    serde_json::json!({ "console": console }),
                )
                .await;
        }
        io.recorder.close().await;
        let unsealed = io.recorder.unsealed().is_some();
        store.close().await;
        Ok::<_, Report>(result.map(|(_, exit)| (exit, unsealed)))
    })?;
    let (exit, unsealed) = result.into_diagnostic()?;
    if role == Role::Driver && exit == Exit::Quit {
        eprintln!("ebb: detached from run {run_id}; `ebb attach {run_id}` comes back to it");
    }
    Ok(super::drill::exit_code(exit, unsealed))
}

#[derive(Debug, Args)]
pub struct RunnerArgs {
    /// The run to drive.
    pub run_id: String,
    /// A SQLite file or postgres:// URL (default: EBB_STORE, else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// World seconds per real second for a drill (0.1–100).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Confirm manual steps without asking.
    #[arg(long)]
    pub yes: bool,
    /// A name to annotate the unix user with in the audit log.
    #[arg(long)]
    pub operator: Option<String>,
}

/// How often the runner ticks a drill world (finer than a console's second, so waits end
/// close to when they should); observations are published about once a second.
const RUNNER_TICK: Duration = Duration::from_millis(100);

/// `ebb runner RUN`: drives one run, detached from any terminal, until the run is settled
/// and nobody is attached (or it is told to stop). Started by `ebb run` and `ebb resume`.
pub fn runner(args: RunnerArgs) -> Result<ExitCode, Report> {
    let store_spec = spec_from_env(args.store.as_deref());
    let operator = super::identity::operator(args.operator.as_deref());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .into_diagnostic()?;
    rt.block_on(async {
        let store = super::setup::open_store(&store_spec).await?;
        let log = open_audit(&store, args.operator.as_deref())
            .await
            .map_err(|why| {
                miette::miette!("AUDIT DOWN: the runner cannot write the audit log: {why}")
            })?;
        let (ev_tx, ev_rx) = mpsc::channel(256);
        let resumed =
            crate::runner::session::resume(&store, &args.run_id, &operator, args.yes, false, ev_tx)
                .await
                .map_err(|e| miette::miette!("cannot drive {}: {e}", args.run_id))?;
        tracing::info!(run = %args.run_id, pid = std::process::id(), "runner started");
        let mut world_tasks = None;
        let mut drill = None;
        // A facilitator's speed and freeze outlive a runner: the journal keeps them.
        let clock = resumed
            .clock
            .unwrap_or(crate::runner::store_journal::DrillClock {
                speed: args.speed,
                frozen: false,
            });
        let speed = clock.speed.clamp(0.1, 100.0);
        let observations = resumed.drill.as_ref().map(|(_, world)| {
            let (obs_tx, obs_rx) = mpsc::channel(256);
            let (cmd_tx, cmd_rx) = mpsc::channel(4);
            let source =
                crate::sim::source::spawn(world.clone(), speed, RUNNER_TICK, obs_tx, cmd_rx);
            world_tasks = Some(source);
            drill = Some(crate::runner::drill::DrillHost::new(
                world.clone(),
                cmd_tx,
                store.clone(),
                &args.run_id,
                crate::runner::store_journal::DrillClock { speed, ..clock },
            ));
            published_observations(obs_rx)
        });
        let cmds = resumed.handle.cmds.clone();
        let stop = tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            let _ = cmds
                .send(crate::engine::Command::Detach {
                    reason: format!("{name}: the runner was told to stop"),
                })
                .await;
        });
        let digest = resumed.plan.digest().to_string();
        let status = crate::runner::host::host(crate::runner::host::Hosted {
            store: store.clone(),
            run_id: args.run_id.clone(),
            handle: resumed.handle,
            events: ev_rx,
            audit: crate::runner::audit::EngineAudit::new(log.clone(), Some(digest)),
            on_detach: resumed.plan.on_detach,
            observations,
            holder: crate::runner::session::lease_holder(&operator),
            drill,
        })
        .await;
        stop.abort();
        if let Some(source) = world_tasks {
            source.abort();
        }
        tracing::info!(run = %args.run_id, ?status, "runner leaves");
        if let Err(e) = log.close().await {
            tracing::error!(error = %e, "the runner could not seal its audit session");
        }
        store.close().await;
        Ok::<_, Report>(ExitCode::SUCCESS)
    })
}

/// A drill world's observations as the runner publishes them: a figure kept current
/// about once a second says so with its interval, so consoles do not show it stale.
fn published_observations(
    mut rx: mpsc::Receiver<crate::sources::Observation>,
) -> mpsc::Receiver<crate::sources::Observation> {
    let (tx, out) = mpsc::channel(256);
    tokio::spawn(async move {
        while let Some(mut o) = rx.recv().await {
            o.interval = o.interval.max(Duration::from_secs(1));
            if tx.send(o).await.is_err() {
                return;
            }
        }
    });
    out
}

/// Starts `ebb runner RUN` in its own session (it survives this terminal's SIGHUP), with
/// no terminal (its diagnostics go to the log directory), and waits until it holds the
/// run's lease. The store is passed in the environment, never on the command line.
pub async fn spawn_runner(
    store: &Store,
    store_spec: &str,
    run_id: &str,
    speed: f64,
    yes: bool,
    annotation: Option<&str>,
) -> Result<u32, String> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find ebb's own binary: {e}"))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("runner")
        .arg(run_id)
        .arg("--speed")
        .arg(speed.to_string())
        .env("EBB_STORE", store_spec)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if yes {
        cmd.arg("--yes");
    }
    if let Some(a) = annotation {
        cmd.arg("--operator").arg(a);
    }
    // SAFETY: setsid is async-signal-safe; it only makes the child its own session leader.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the runner: {e}"))?;
    let pid = child.id();
    let (exited_tx, mut exited_rx) = tokio::sync::oneshot::channel();
    // Reap it whenever it ends, so a finished runner never lingers as a zombie.
    std::thread::spawn(move || {
        let status = child.wait();
        let _ = exited_tx.send(status);
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let suffix = format!(":{pid}");
    loop {
        if let Ok(Some(l)) = store.lease(run_id).await
            && l.holder.ends_with(&suffix)
        {
            return Ok(pid);
        }
        if let Ok(status) = exited_rx.try_recv() {
            let log = crate::logging::log_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "the log directory".into());
            return Err(format!(
                "the runner for {run_id} exited before it took the run ({}); its log is in {log}",
                status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|e| e.to_string())
            ));
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "the runner for {run_id} (pid {pid}) did not take the run within 20 s"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates the run of `spec` in the store and starts its runner: the run's id, once the
/// runner holds it. `ebb run` and `ebb drill --facilitate` attach a console to it next
/// (the facilitator's role is checked by `ebb drill` before, and by the runner on every
/// request).
pub fn create_hosted(
    spec: &crate::runner::session::RunSpec,
    store_spec: &str,
    speed: f64,
    yes: bool,
    annotation: Option<&str>,
) -> Result<String, Report> {
    let rt = super::setup::runtime()?;
    rt.block_on(async {
        let store = super::setup::open_store(store_spec).await?;
        let run_id = crate::runner::session::create(&store, spec)
            .await
            .map_err(|e| miette::miette!("{e}"))?;
        spawn_runner(&store, store_spec, &run_id, speed, yes, annotation)
            .await
            .map_err(|e| miette::miette!("{e}"))?;
        store.close().await;
        Ok(run_id)
    })
}

/// Whether a run's runner is alive now, and who it is.
pub async fn live_runner(store: &Store, run_id: &str) -> Option<String> {
    match store.lease(run_id).await {
        Ok(Some(l)) if crate::runner::bus::runner_alive(&l, Timestamp::now().0) => Some(l.holder),
        _ => None,
    }
}
