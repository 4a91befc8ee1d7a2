//! The console's link to its run: starts the run on the first run-control request (so
//! opening a drill writes nothing), forwards verbs and confirmations, detaches on exit.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::EngineRequest;
use crate::engine::{Command, EngineEvent};
use crate::runner::session::{self, RunHandle, RunSpec};
use crate::sim::world::SharedWorld;
use crate::store::Store;

/// How long leaving waits for the run to reach a safe point.
pub const DETACH_WAIT: Duration = Duration::from_secs(5);

/// What the link starts on the first run-control request.
pub enum Start {
    New {
        spec: RunSpec,
        /// The drill world the plan's `sim` targets bind to, if any.
        world: Option<SharedWorld>,
    },
}

/// The run's engine events, passed on to the console; when the run finishes on a drill
/// world, the world's objectives are scored for good first (a runner does the same).
pub(super) fn scored_events(
    world: Option<SharedWorld>,
    out: mpsc::Sender<EngineEvent>,
) -> mpsc::Sender<EngineEvent> {
    let Some(world) = world else {
        return out;
    };
    let (tx, mut rx) = mpsc::channel(256);
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if let EngineEvent::View(v) = &ev
                && matches!(v.status, crate::engine::Status::Finished(_))
                && let Ok(mut w) = world.lock()
            {
                w.finish_objectives();
            }
            if out.send(ev).await.is_err() {
                return;
            }
        }
    });
    tx
}

pub fn spawn(
    store_spec: String,
    start: Start,
    mut requests: mpsc::Receiver<EngineRequest>,
    events: mpsc::Sender<EngineEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Start::New { spec, world } = start;
        let world_of = world.clone();
        let (mut pending, mut handle): (_, Option<RunHandle>) = (Some((spec, world)), None);
        while let Some(req) = requests.recv().await {
            if let EngineRequest::Detach { reason } = &req {
                if let Some(h) = handle.take() {
                    let _ = h
                        .cmds
                        .send(Command::Detach {
                            reason: reason.clone(),
                        })
                        .await;
                    let _ = tokio::time::timeout(DETACH_WAIT, h.task).await;
                }
                return;
            }
            if handle.is_none() {
                let Some((spec, world)) = pending.clone() else {
                    continue;
                };
                let scored = scored_events(world.clone(), events.clone());
                let started = match Store::open(&store_spec).await {
                    Ok(store) => session::start(&store, spec, world.clone(), scored).await,
                    Err(e) => Err(crate::store::open_failed(&store_spec, &e)),
                };
                match started {
                    Ok(h) => {
                        let _ = events
                            .send(EngineEvent::Note {
                                at: crate::time::Timestamp::now(),
                                severity: crate::sources::Severity::Info,
                                text: format!(
                                    "run {} created; `ebb resume {}` continues it after a crash",
                                    h.run_id, h.run_id
                                ),
                            })
                            .await;
                        handle = Some(h);
                        pending = None;
                    }
                    Err(reason) => {
                        let verb = match &req {
                            EngineRequest::Verb { verb, .. } => verb.name().to_string(),
                            _ => "confirm".into(),
                        };
                        let _ = events.send(EngineEvent::Refused { verb, reason }).await;
                        continue;
                    }
                }
            }
            if let Some(h) = &handle {
                let name = req.action_name();
                // A responder's run control counts for the drill's score.
                if let (Some(w), EngineRequest::Verb { .. }) = (world_of.as_ref(), &req)
                    && let Ok(mut w) = w.lock()
                {
                    let _ = w.apply(crate::sim::world::WorldControl::NoteAction {
                        action: name.clone(),
                    });
                }
                let delivered = match req {
                    // Leaving: the detach above handles it.
                    EngineRequest::Detach { .. } => true,
                    req => h.deliver(req).is_ok(),
                };
                if !delivered {
                    // The console recorded this as sent: say it never arrived (audited as
                    // a refusal, shown on screen).
                    let verb = name.trim_start_matches("run.").to_string();
                    let reason = "not delivered: the run's engine has stopped".to_string();
                    let _ = events.send(EngineEvent::Refused { verb, reason }).await;
                }
            }
        }
        // The console closed without detaching: detach now.
        if let Some(h) = handle {
            let _ = h
                .cmds
                .send(Command::Detach {
                    reason: "console closed".into(),
                })
                .await;
            let _ = tokio::time::timeout(DETACH_WAIT, h.task).await;
        }
    })
}
