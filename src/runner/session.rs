//! A run, wired: plan, store journal, lease and the run's actuators (real targets, and the
//! drill world when bound) around one actor. `start` begins a run; `resume` rebuilds one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::actuators::RunActuators;
use super::store_journal::{StoreJournal, load};
use crate::backends::RealBackends;
use crate::diag::SourceFile;
use crate::engine::actor::{Actor, Command, EngineEvent, ExecPolicy};
use crate::engine::journal::replay;
use crate::engine::state::{Final, OnFailure, RunState, Status, StepInfo};
use crate::engine::{Backends, Steering};
use crate::plan::overrides::KubeOverride;
use crate::plan::{self, Plan};
use crate::sim::actuators::SimWorld;
use crate::sim::bind::Binding;
use crate::sim::world::{Scenario, SharedWorld};
use crate::store::{LeaseOutcome, NewRun, RunRow, Store, StoreError, new_run_id};
use crate::time::Timestamp;

/// How long a console's lease on a run lasts without renewal, and how often it renews.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
const LEASE_RENEW: Duration = Duration::from_secs(10);

/// What a run is started from.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub plan: Arc<Plan>,
    pub plan_source: String,
    pub plan_path: String,
    /// The drill world's scenario (a built-in name or a file path), so a resume can
    /// rebuild the world; `None` for a run on real targets only.
    pub scenario: Option<String>,
    pub seed: u64,
    pub operator: String,
    /// Confirm manual steps without asking (headless `--yes`).
    pub auto_confirm: bool,
    /// Leave when the run finishes (headless); a console stays for a later rollback.
    pub exit_on_finish: bool,
    /// `--context`/`-n` given for the run (already applied to `plan`); journaled with the
    /// run so its runner, resumes and consoles point where it did.
    pub kube: KubeOverride,
}

/// A run's plan as journaled with it, pointed where the run was (`--context`, `-n`).
pub fn journaled_plan(row: &RunRow) -> Result<Plan, plan::PlanErrors> {
    let mut plan = Plan::parse(&SourceFile::new(
        row.plan_path.clone(),
        row.plan_source.clone(),
    ))?;
    KubeOverride {
        context: row.kube_context.clone(),
        namespace: row.kube_namespace.clone(),
    }
    .apply(&mut plan);
    Ok(plan)
}

/// A run being driven.
pub struct RunHandle {
    pub run_id: String,
    pub cmds: mpsc::Sender<Command>,
    /// Confirmations of manual steps, by step index.
    pub confirms: mpsc::Sender<usize>,
    /// Answers to an actuator's ask: the step's index and the word the responder typed.
    pub answers: mpsc::Sender<(usize, String)>,
    /// The batch size of `sql_batches` steps as a power of two times the plan's
    /// (0 = as planned), from their next batch on.
    pub batch_scale: watch::Sender<i32>,
    pub task: JoinHandle<Status>,
    /// Verbs (`run.rollback`, …) the policy gives a second person, for a run hosted in a
    /// console's own process (headless), where nobody can approve them: refused. A runner
    /// holds them for approval instead, and leaves this empty.
    pub second_person: Vec<String>,
}

impl RunHandle {
    /// Hands a console's request to the run's engine: the one place requests are
    /// delivered, for a runner, a console hosting its run, and headless. `Err` says why it
    /// did not arrive (busy, stopped, or not the engine's to take).
    pub fn deliver(&self, req: crate::engine::EngineRequest) -> Result<(), String> {
        use crate::engine::EngineRequest as R;
        use tokio::sync::mpsc::error::TrySendError;
        fn why<T>(e: TrySendError<T>) -> String {
            match e {
                TrySendError::Full(_) => "the run engine is busy; send it again".into(),
                TrySendError::Closed(_) => "the run engine has stopped".into(),
            }
        }
        match req {
            R::Verb { verb, .. }
                if self.second_person.contains(&format!("run.{}", verb.name())) =>
            {
                Err(format!(
                    "run.{} needs a second person (policy), and a run hosted in this process cannot be approved: drive it with a runner (`ebb run PLAN` in a terminal, then `ebb attach RUN --headless`)",
                    verb.name()
                ))
            }
            R::Verb { verb, by } => self.cmds.try_send(Command::Verb { verb, by }).map_err(why),
            R::Confirm { step, .. } => self.confirms.try_send(step).map_err(why),
            R::Answer { step, typed, .. } => self.answers.try_send((step, typed)).map_err(why),
            R::BatchSize { larger, .. } => {
                self.scale_batches(larger);
                if self.batch_scale.is_closed() {
                    Err("the run engine has stopped".into())
                } else {
                    Ok(())
                }
            }
            R::Detach { reason } => self.cmds.try_send(Command::Detach { reason }).map_err(why),
            R::Approve { .. } | R::Deny { .. } | R::BreakGlass { .. } => {
                Err("approvals are taken by a run's runner (ebb run, ebb attach)".into())
            }
        }
    }

    /// Doubles or halves the batch size of batched steps (within 1/1024 and 16 times
    /// the plan's).
    pub fn scale_batches(&self, larger: bool) {
        self.batch_scale.send_modify(|e| {
            *e = (*e + if larger { 1 } else { -1 }).clamp(MIN_BATCH_SCALE, MAX_BATCH_SCALE)
        });
    }
}

/// Bounds of `RunHandle::batch_scale`.
pub const MIN_BATCH_SCALE: i32 = -10;
pub const MAX_BATCH_SCALE: i32 = 4;

/// The actuators of a run and the handles that steer them.
struct Wired<B: Backends> {
    actuators: RunActuators<B>,
    progress: crate::engine::Progress,
    meter: crate::engine::Meter,
    stop: watch::Sender<bool>,
    confirms: mpsc::Sender<usize>,
    answers: mpsc::Sender<(usize, String)>,
    asking: crate::engine::AskCell,
    batch_scale: watch::Sender<i32>,
}

/// The run's actuators around `backends`, which write their progress to `progress`.
fn wire<B: Backends>(
    plan: Arc<Plan>,
    auto_confirm: bool,
    progress: crate::engine::Progress,
    backends: B,
) -> Wired<B> {
    let (confirms, confirm_rx) = mpsc::channel(8);
    let (answers, answer_rx) = mpsc::channel(8);
    let asking = crate::engine::AskCell::default();
    let (stop, stop_rx) = watch::channel(false);
    let (batch_scale, batch_rx) = watch::channel(0);
    let meter: crate::engine::Meter = Arc::new(Mutex::new(None));
    let steering = Steering {
        stop: stop_rx,
        batch_scale: batch_rx,
        confirms: confirm_rx,
        auto_confirm,
        meter: meter.clone(),
        answers: answer_rx,
        asking: asking.clone(),
    };
    Wired {
        actuators: RunActuators::new(plan, backends, steering, progress.clone()),
        progress,
        meter,
        stop,
        confirms,
        answers,
        asking,
        batch_scale,
    }
}

/// The drill world a run binds to: the world, with the plan's targets bound to it. A
/// binding that fails here was refused, located, before the run was asked for.
fn drill_backends(
    plan: &Plan,
    scenario: &Scenario,
    world: SharedWorld,
    journal: &StoreJournal,
    progress: &crate::engine::Progress,
) -> Result<SimWorld<StoreJournal>, String> {
    let binding = Binding::for_plan(plan, scenario).map_err(|errors| {
        let why: Vec<String> = errors
            .iter()
            .map(|e| format!("target {}: {}", e.target, e.why))
            .collect();
        format!(
            "the plan cannot be bound to the drill world: {}",
            why.join("; ")
        )
    })?;
    Ok(SimWorld::new(world, journal.clone(), progress.clone()).with_binding(binding))
}

/// The state machine's view of a plan, and how each step is executed.
pub fn state_for(plan: &Plan) -> (RunState, Vec<ExecPolicy>) {
    let steps = plan
        .steps
        .iter()
        .map(|s| StepInfo {
            id: s.id.clone(),
            has_undo: s.undo.is_some(),
            on_failure: match s.on_failure {
                plan::OnFailure::Pause => OnFailure::Pause,
                plan::OnFailure::Rollback => OnFailure::Rollback,
                plan::OnFailure::Abort => OnFailure::Abort,
            },
        })
        .collect();
    let policies = plan
        .steps
        .iter()
        .map(|s| ExecPolicy {
            // A statefulset rollback's timeout bounds each pod's wait, inside the actuator.
            timeout: match s.kind {
                plan::StepKind::StatefulsetRollback { .. } => None,
                _ => s.timeout,
            },
            retries: s.retries,
            backoff: s.backoff,
        })
        .collect();
    (RunState::new(steps), policies)
}

/// The word stored in the run row for a status.
pub fn status_word(s: Status) -> &'static str {
    match s {
        Status::NotStarted => "created",
        Status::Running => "running",
        Status::Pausing => "pausing",
        Status::Paused => "paused",
        Status::Finished(Final::Completed) => "completed",
        Status::Finished(Final::Aborted) => "aborted",
        Status::Finished(Final::RolledBack) => "rolled_back",
    }
}

/// Who holds a lease: operator, host and process.
pub fn lease_holder(operator: &str) -> String {
    format!(
        "{operator}@{}:{}",
        crate::audit::record::hostname(),
        std::process::id()
    )
}

/// Whether a lease holder is a process on this host that no longer exists (a console that
/// crashed or was killed): its lease may be taken over at once instead of after expiry.
pub fn holder_is_dead_here(holder: &str) -> bool {
    let ours = lease_holder("x");
    let host_of = |h: &str| {
        h.rsplit_once('@')
            .map(|(_, hp)| hp.rsplit_once(':').map(|(host, _)| host.to_string()))
    };
    let (Some(Some(their_host)), Some(Some(our_host))) = (host_of(holder), host_of(&ours)) else {
        return false;
    };
    let Some(pid) = holder
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<i32>().ok())
    else {
        return false;
    };
    if their_host != our_host || pid <= 0 || pid as u32 == std::process::id() {
        return false;
    }
    // SAFETY: signal 0 only checks whether the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid, 0) };
    if r != 0 {
        return std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    }
    // It exists: dead all the same if it is a zombie, or if the pid now belongs to
    // another program.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let after_comm = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            let zombie =
                after_comm.is_some_and(|rest| rest.starts_with('Z') || rest.starts_with('X'));
            let comm = stat
                .split_once('(')
                .and_then(|(_, r)| r.rsplit_once(')'))
                .map(|(c, _)| c.to_string());
            zombie || comm.is_some_and(|c| c != "ebb")
        }
        Err(_) => false,
    }
}

async fn take_lease(store: &Store, run_id: &str, holder: &str) -> Result<(), String> {
    if let Ok(LeaseOutcome::HeldBy { holder: old, .. }) = store
        .acquire_lease(
            run_id,
            holder,
            Timestamp::now().0,
            LEASE_TTL.as_millis() as i64,
        )
        .await
        && holder_is_dead_here(&old)
    {
        store
            .release_lease(run_id, &old)
            .await
            .map_err(|e| e.to_string())?;
    }
    match store
        .acquire_lease(
            run_id,
            holder,
            Timestamp::now().0,
            LEASE_TTL.as_millis() as i64,
        )
        .await
        .map_err(|e| e.to_string())?
    {
        LeaseOutcome::Acquired => Ok(()),
        LeaseOutcome::HeldBy { holder, expires_at } => Err(format!(
            "run {run_id} is driven by {holder} (lease until {}); one console drives a run at a time",
            Timestamp(expires_at).rfc3339()
        )),
    }
}

#[allow(clippy::too_many_arguments)]
fn spawn_actor<B: Backends + 'static>(
    store: Store,
    run_id: String,
    state: RunState,
    policies: Vec<ExecPolicy>,
    actuators: RunActuators<B>,
    journal: StoreJournal,
    progress: crate::engine::Progress,
    meter: crate::engine::Meter,
    asking: crate::engine::AskCell,
    stop: watch::Sender<bool>,
    holder: String,
    exit_on_finish: bool,
    in_doubt: Option<(usize, bool, String)>,
    stopped: Vec<Option<String>>,
    out: mpsc::Sender<EngineEvent>,
) -> (mpsc::Sender<Command>, JoinHandle<Status>) {
    let (ctx, crx) = mpsc::channel(64);
    let (etx, mut erx) = mpsc::channel::<EngineEvent>(256);
    let mut actor = Actor::new(
        run_id.clone(),
        state,
        policies,
        actuators,
        journal,
        crx,
        etx,
        exit_on_finish,
    )
    .with_progress(progress)
    .with_meter(meter)
    .with_asking(asking)
    .with_stop_signal(stop)
    .with_stopped_at(stopped);
    // Keep the lease while the run is driven; losing it detaches the actor.
    let renew = {
        let (store, run_id, holder, ctx) =
            (store.clone(), run_id.clone(), holder.clone(), ctx.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(LEASE_RENEW);
            tick.tick().await;
            loop {
                tick.tick().await;
                let ok = store
                    .renew_lease(
                        &run_id,
                        &holder,
                        Timestamp::now().0,
                        LEASE_TTL.as_millis() as i64,
                    )
                    .await
                    .unwrap_or(false);
                if !ok {
                    let _ = ctx
                        .send(Command::Detach {
                            reason: "lease lost".into(),
                        })
                        .await;
                    return;
                }
            }
        })
    };
    // Mirror the run's status into its row, and pass every event on.
    let forward = {
        let (store, run_id) = (store.clone(), run_id.clone());
        tokio::spawn(async move {
            let mut last = None;
            while let Some(ev) = erx.recv().await {
                if let EngineEvent::View(v) = &ev
                    && last != Some(v.status)
                {
                    last = Some(v.status);
                    let _ = store
                        .set_run_state(&run_id, status_word(v.status), Timestamp::now().0)
                        .await;
                }
                let _ = out.send(ev).await;
            }
        })
    };
    let task = tokio::spawn(async move {
        if let Some((step, undo, key)) = in_doubt {
            actor.resolve_in_doubt(step, undo, &key).await;
        }
        let (state, _) = actor.run().await;
        let _ = forward.await;
        renew.abort();
        let _ = store
            .set_run_state(&run_id, status_word(state.status), Timestamp::now().0)
            .await;
        let _ = store.release_lease(&run_id, &holder).await;
        state.status
    });
    (ctx, task)
}

/// Records a new run of `spec` (state `created`) and returns its id; nothing runs yet. A
/// runner process (`ebb runner`) then drives it, as a resume of a run with no journal.
pub async fn create(store: &Store, spec: &RunSpec) -> Result<String, String> {
    let mut run_id = new_run_id(Timestamp::now().0);
    for _ in 0..5 {
        let row = NewRun {
            id: run_id.clone(),
            plan_name: spec.plan.name.clone(),
            plan_digest: spec.plan.digest().to_string(),
            plan_path: spec.plan_path.clone(),
            plan_source: spec.plan_source.clone(),
            scenario: spec.scenario.clone(),
            seed: Some(spec.seed),
            operator: spec.operator.clone(),
            kube_context: spec.kube.context.clone(),
            kube_namespace: spec.kube.namespace.clone(),
            at: Timestamp::now().0,
        };
        match store.create_run(&row).await {
            Ok(()) => return Ok(run_id),
            Err(StoreError::RunExists(_)) => run_id = new_run_id(Timestamp::now().0),
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("could not find a free run id".into())
}

/// Starts a new run of `spec` (on `world` when it binds a drill world). Nothing is
/// applied until a verb arrives.
pub async fn start(
    store: &Store,
    spec: RunSpec,
    world: Option<SharedWorld>,
    out: mpsc::Sender<EngineEvent>,
) -> Result<RunHandle, String> {
    let run_id = create(store, &spec).await?;
    let holder = lease_holder(&spec.operator);
    take_lease(store, &run_id, &holder).await?;
    tracing::info!(run = %run_id, plan = %spec.plan.name, digest = %spec.plan.digest(), %holder, "run started");
    let journal = StoreJournal {
        store: store.clone(),
        run_id: run_id.clone(),
        step_ids: spec.plan.steps.iter().map(|s| s.id.clone()).collect(),
    };
    let plan = spec.plan.clone();
    let progress: crate::engine::Progress = Arc::new(Mutex::new(None));
    match world {
        Some(world) => {
            let name = spec.scenario.clone().unwrap_or_default();
            let scenario = Scenario::load(&name).map_err(|e| e.to_string())?;
            let sim = drill_backends(&plan, &scenario, world, &journal, &progress)?;
            let w = wire(plan, spec.auto_confirm, progress, sim);
            started(store, spec, run_id, holder, journal, w, out).await
        }
        None => {
            let real = RealBackends::new(&plan, journal.clone());
            let w = wire(plan, spec.auto_confirm, progress, real);
            started(store, spec, run_id, holder, journal, w, out).await
        }
    }
}

/// A new run's actor, once its actuators are wired.
async fn started<B: Backends + 'static>(
    store: &Store,
    spec: RunSpec,
    run_id: String,
    holder: String,
    journal: StoreJournal,
    mut w: Wired<B>,
    out: mpsc::Sender<EngineEvent>,
) -> Result<RunHandle, String> {
    let (state, policies) = state_for(&spec.plan);
    // What verify checks compare with: the targets as they are before anything runs.
    capture_baseline(&mut w, &journal, &out).await?;
    let (cmds, task) = spawn_actor(
        store.clone(),
        run_id.clone(),
        state,
        policies,
        w.actuators,
        journal,
        w.progress,
        w.meter,
        w.asking,
        w.stop,
        holder,
        spec.exit_on_finish,
        None,
        Vec::new(),
        out,
    );
    Ok(RunHandle {
        run_id,
        cmds,
        confirms: w.confirms,
        answers: w.answers,
        batch_scale: w.batch_scale,
        task,
        second_person: Vec::new(),
    })
}

/// A run rebuilt from the store, ready to be driven again.
pub struct Resumed {
    pub handle: RunHandle,
    pub row: RunRow,
    pub plan: Arc<Plan>,
    /// The drill world and its scenario, when the run was bound to one.
    pub drill: Option<(Scenario, SharedWorld)>,
    /// A hosted drill's clock as its facilitator last set it.
    pub clock: Option<super::store_journal::DrillClock>,
}

/// Rebuilds run `run_id` from its journal: the plan as it was (refusing a changed plan
/// file), the drill world with its effects, the run state; settles an in-doubt step by
/// probing, then drives it again under a fresh lease.
/// Captures what `verify` checks compare with, journals it, and says which targets could
/// not give theirs. Only while nothing has run: later, the targets are no baseline.
async fn capture_baseline<B: Backends>(
    w: &mut Wired<B>,
    journal: &StoreJournal,
    out: &mpsc::Sender<EngineEvent>,
) -> Result<(), String> {
    let (data, failed) = w.actuators.capture_baseline().await;
    if data.as_object().is_some_and(|m| !m.is_empty()) {
        let mut journal = journal.clone();
        crate::engine::Journal::append(
            &mut journal,
            &crate::engine::journal::Record::Baseline { data },
        )
        .await?;
    }
    for f in failed {
        let _ = out
            .send(EngineEvent::Note {
                at: Timestamp::now(),
                severity: crate::sources::Severity::Warn,
                text: format!("no baseline from {f}; checks against it will be inconclusive"),
            })
            .await;
    }
    Ok(())
}

pub async fn resume(
    store: &Store,
    run_id: &str,
    operator: &str,
    auto_confirm: bool,
    exit_on_finish: bool,
    out: mpsc::Sender<EngineEvent>,
) -> Result<Resumed, String> {
    let row = store
        .run(run_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no run {run_id}; `ebb runs list` shows the runs in this store"))?;
    let plan =
        journaled_plan(&row).map_err(|e| format!("the journaled plan no longer parses: {e}"))?;
    if plan.digest() != row.plan_digest {
        return Err(format!(
            "the journaled plan's digest changed ({} → {})",
            row.plan_digest,
            plan.digest()
        ));
    }
    if let Ok(text) = crate::input::read_text(std::path::Path::new(&row.plan_path))
        && let Ok(on_disk) = Plan::parse(&SourceFile::new(row.plan_path.clone(), text))
        && on_disk.digest() != row.plan_digest
    {
        return Err(format!(
            "{} changed since run {run_id} began (digest {} → {}); a run only continues the plan it started with",
            row.plan_path,
            row.plan_digest,
            on_disk.digest()
        ));
    }
    let plan = Arc::new(plan);
    let super::store_journal::Loaded {
        records,
        seqs,
        effects,
        clock,
    } = load(store, run_id).await?;
    let drill = match &row.scenario {
        Some(name) => {
            let scenario = Scenario::load(name).map_err(|e| e.to_string())?;
            let seed = row.seed.unwrap_or(42);
            let world: SharedWorld = Arc::new(Mutex::new(crate::sim::effects::rebuild_world(
                &scenario, seed, &effects,
            )));
            Some((scenario, world))
        }
        None => None,
    };
    let (fresh, policies) = state_for(&plan);
    let replayed = replay(fresh, &records).map_err(|e| {
        let seq = seqs.get(e.index).copied().unwrap_or(0);
        format!(
            "run {run_id}: journal row {seq} ({}) {}; this journal does not belong to plan {:?}, so the run cannot be resumed",
            e.kind, e.why, plan.name
        )
    })?;
    let holder = lease_holder(operator);
    take_lease(store, run_id, &holder).await?;
    tracing::info!(run = %run_id, records = records.len(), effects = effects.len(), in_doubt = ?replayed.in_doubt, "run resumed");
    let journal = StoreJournal {
        store: store.clone(),
        run_id: run_id.to_string(),
        step_ids: plan.steps.iter().map(|s| s.id.clone()).collect(),
    };
    let progress: crate::engine::Progress = Arc::new(Mutex::new(None));
    let resuming = Resuming {
        store,
        run_id,
        plan: &plan,
        records,
        replayed,
        policies,
        holder,
        journal: journal.clone(),
        exit_on_finish,
        out,
    };
    let handle = match &drill {
        Some((scenario, world)) => {
            let sim = drill_backends(&plan, scenario, world.clone(), &journal, &progress)?;
            let w = wire(plan.clone(), auto_confirm, progress, sim);
            resuming.drive(w).await?
        }
        None => {
            let real = RealBackends::new(&plan, journal.clone());
            resuming
                .drive(wire(plan.clone(), auto_confirm, progress, real))
                .await?
        }
    };
    Ok(Resumed {
        handle,
        row,
        plan,
        drill,
        clock,
    })
}

/// What a resumed run's actor needs besides its actuators.
struct Resuming<'a> {
    store: &'a Store,
    run_id: &'a str,
    plan: &'a Plan,
    records: Vec<crate::engine::journal::Record>,
    replayed: crate::engine::journal::Replayed,
    policies: Vec<ExecPolicy>,
    holder: String,
    journal: StoreJournal,
    exit_on_finish: bool,
    out: mpsc::Sender<EngineEvent>,
}

impl Resuming<'_> {
    /// The resumed run's actor, once its actuators are wired: its baseline and pre-images
    /// restored, an in-doubt step to settle first.
    async fn drive<B: Backends + 'static>(self, mut w: Wired<B>) -> Result<RunHandle, String> {
        let Resuming {
            store,
            run_id,
            plan,
            records,
            replayed,
            policies,
            holder,
            journal,
            exit_on_finish,
            out,
        } = self;
        let baseline = records.iter().rev().find_map(|r| match r {
            crate::engine::journal::Record::Baseline { data } => Some(data),
            _ => None,
        });
        let untouched = !records.iter().any(|r| {
            matches!(
                r,
                crate::engine::journal::Record::Intent { .. }
                    | crate::engine::journal::Record::UndoIntent { .. }
            )
        });
        match baseline {
            Some(data) => w.actuators.restore_baseline(data),
            // Killed before its baseline was journaled, and nothing has run since: the targets
            // are still as they were, so the baseline is taken now. Once a step has begun it
            // cannot be, and checks against it stay inconclusive for a human to decide.
            None if untouched => capture_baseline(&mut w, &journal, &out).await?,
            None => {}
        }
        // What `patch` steps overwrote, for their automatic undo after a restart.
        for r in &records {
            if let crate::engine::journal::Record::PreImage { key, data, .. } = r {
                w.actuators.restore_pre_image(key, data.clone());
            }
        }
        let (cmds, task) = spawn_actor(
            store.clone(),
            run_id.to_string(),
            replayed.state,
            policies,
            w.actuators,
            journal,
            w.progress,
            w.meter,
            w.asking,
            w.stop,
            holder,
            exit_on_finish,
            replayed.in_doubt,
            crate::engine::journal::stopped_at(plan.steps.len(), &records),
            out,
        );
        Ok(RunHandle {
            run_id: run_id.to_string(),
            cmds,
            confirms: w.confirms,
            answers: w.answers,
            batch_scale: w.batch_scale,
            task,
            second_person: Vec::new(),
        })
    }
}
