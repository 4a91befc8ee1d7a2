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

pub fn spawn(
    store_spec: String,
    start: Start,
    mut requests: mpsc::Receiver<EngineRequest>,
    events: mpsc::Sender<EngineEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Start::New { spec, world } = start;
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
                let started = match Store::open(&store_spec).await {
                    Ok(store) => session::start(&store, spec, world, events.clone()).await,
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
