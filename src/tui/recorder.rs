//! The audit side of the one dispatch door: an action's intent is appended and committed
//! before it is applied; run control fails closed when the log cannot be written.

use serde_json::json;
use tokio::sync::watch;

use crate::action::Action;
use crate::app::intent::{Intent, describe};
use crate::app::{ActionSource, Cmd, Model, dispatch};
use crate::audit::{AuditLog, EntryKind, NewRecord};
use crate::engine::{EngineEvent, Status, StepStatus};

/// How often a checkpoint is signed while a run is active.
pub const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The console's audit log, or why there is none.
pub struct Recorder {
    log: Option<AuditLog>,
    /// Why the log cannot be written, when it cannot.
    pub down: Option<String>,
    plan_digest: Option<String>,
    settled: usize,
    active: Option<watch::Sender<bool>>,
    /// Why the session could not be sealed at exit, when it could not.
    unsealed: Option<String>,
}

impl Recorder {
    /// A recorder over `log`; `Err(why)` makes a recorder that refuses run control.
    pub fn new(log: Result<AuditLog, String>, plan_digest: Option<String>) -> Recorder {
        let (log, down) = match log {
            Ok(l) => (Some(l), None),
            Err(e) => (None, Some(e)),
        };
        let active = log.as_ref().map(|l| {
            let (tx, rx) = watch::channel(false);
            crate::audit::spawn_checkpoints(l.clone(), CHECKPOINT_EVERY, rx);
            tx
        });
        Recorder {
            log,
            down,
            plan_digest,
            settled: 0,
            active,
            unsealed: None,
        }
    }

    pub fn log(&self) -> Option<&AuditLog> {
        self.log.as_ref()
    }

    async fn append(&mut self, rec: NewRecord) -> Result<(), String> {
        let Some(log) = &self.log else {
            return Err(self.down.clone().unwrap_or_else(|| "no audit log".into()));
        };
        match log.append(rec).await {
            Ok(_) => {
                self.down = None;
                Ok(())
            }
            Err(e) => {
                let why = e.to_string();
                tracing::error!(error = %why, "audit append failed");
                self.down = Some(why.clone());
                Err(why)
            }
        }
    }

    /// Appends and commits an intent.
    pub async fn intent(&mut self, intent: &Intent) -> Result<(), String> {
        let rec = NewRecord {
            kind: EntryKind::Intent,
            key: intent.key.clone(),
            action: Some(intent.action.clone()),
            run_id: intent.run_id.clone(),
            step_id: intent.step_id.clone(),
            args: intent.args.clone(),
            plan_digest: self.plan_digest.clone(),
            ..NewRecord::default()
        };
        self.append(rec).await
    }

    /// Records what the engine did or refused, and signs a checkpoint at every step
    /// boundary. Failures here are shown but cannot undo what already happened.
    pub async fn engine(&mut self, ev: &EngineEvent) {
        match ev {
            EngineEvent::Note { text, .. } => {
                let rec = NewRecord {
                    kind: EntryKind::Engine,
                    action: Some("run.note".into()),
                    text: Some(text.clone()),
                    plan_digest: self.plan_digest.clone(),
                    ..NewRecord::default()
                };
                let _ = self.append(rec).await;
            }
            EngineEvent::Refused { verb, reason } => {
                let mut rec =
                    NewRecord::outcome(&format!("run.{verb}"), &format!("refused: {reason}"));
                rec.plan_digest = self.plan_digest.clone();
                let _ = self.append(rec).await;
            }
            EngineEvent::View(v) => {
                if let Some(tx) = &self.active {
                    let _ = tx.send(matches!(v.status, Status::Running | Status::Pausing));
                }
                let settled = v
                    .steps
                    .iter()
                    .filter(|s| {
                        !matches!(
                            s.status,
                            StepStatus::Pending | StepStatus::Running { .. } | StepStatus::Undoing
                        )
                    })
                    .count();
                if settled != self.settled {
                    self.settled = settled;
                    if let Some(log) = &self.log
                        && let Err(e) = log.checkpoint().await
                    {
                        self.down = Some(e.to_string());
                    }
                }
            }
            EngineEvent::Exited { status } => {
                let rec = NewRecord {
                    kind: EntryKind::Engine,
                    action: Some("run.exited".into()),
                    args: json!({ "status": format!("{status:?}") }),
                    ..NewRecord::default()
                };
                let _ = self.append(rec).await;
            }
        }
    }

    /// A responder's note.
    pub async fn note(&mut self, text: &str) -> Result<(), String> {
        let mut rec = NewRecord::note(text);
        rec.plan_digest = self.plan_digest.clone();
        self.append(rec).await
    }

    /// An action was recorded and sent, but could not reach the engine (or the drill
    /// world): recorded as not delivered, so the log never claims an effect that was lost.
    pub async fn undelivered(&mut self, action: &str, why: &str) {
        let mut rec = NewRecord::outcome(action, &format!("not delivered: {why}"));
        rec.plan_digest = self.plan_digest.clone();
        let _ = self.append(rec).await;
    }

    /// The terminal went away or a signal asked the console to stop.
    pub async fn lost(&mut self, why: &str) {
        let mut rec = NewRecord::outcome("console.lost", why);
        rec.kind = EntryKind::Engine;
        let _ = self.append(rec).await;
    }

    /// Seals the session: its end and a final checkpoint, also when nothing happened.
    /// A failure is said on stderr and kept: see [`Recorder::unsealed`].
    pub async fn close(&mut self) {
        if let Some(log) = &self.log
            && let Err(e) = log.close().await
        {
            eprintln!("ebb: could not seal the audit log: {e}");
            self.unsealed = Some(e.to_string());
        }
    }

    /// Why [`Recorder::close`] could not seal the session; the process must then exit
    /// non-zero (exit 5).
    pub fn unsealed(&self) -> Option<&str> {
        self.unsealed.as_deref()
    }
}

/// What the operator is told when the audit log takes writes again after being down.
pub const AUDIT_BACK: &str = "the audit log is writable again: run control is back";

/// The one door: records the intent of `action`, then applies it. When the record cannot
/// be committed, run control is refused and the screen says why; viewing keeps working.
/// Once a record commits again, AUDIT DOWN leaves the header and the operator is told.
pub async fn dispatch_recorded(
    model: &mut Model,
    rec: &mut Recorder,
    action: Action,
    source: ActionSource,
) -> Vec<Cmd> {
    let was_down = model.audit_down.is_some();
    let cmds = dispatch_through(model, rec, action, source).await;
    if was_down && model.audit_down.is_none() {
        // Replace a stale refusal (or nothing); keep what the action itself said.
        let stale = model
            .flash
            .as_ref()
            .is_none_or(|(_, m)| m.contains("the audit log cannot be written"));
        if stale {
            model.flash = Some((model.now, AUDIT_BACK.to_string()));
        }
    }
    cmds
}

async fn dispatch_through(
    model: &mut Model,
    rec: &mut Recorder,
    action: Action,
    source: ActionSource,
) -> Vec<Cmd> {
    let intent = describe(model, action, &source);
    let result = rec.intent(&intent).await;
    model.audit_down = rec.down.clone();
    match result {
        Ok(()) if intent.run_control => {
            let cmds = dispatch(model, action, source);
            // What became of it here: handed to the engine (whose answer is recorded when
            // it comes), or held back (a confirm layer still open, nothing to confirm).
            let outcome = if cmds.iter().any(|c| matches!(c, Cmd::Engine(_))) {
                "sent to the engine".to_string()
            } else {
                match &model.flash {
                    Some((_, msg)) => format!("not sent: {msg}"),
                    None => "awaiting confirmation".to_string(),
                }
            };
            let mut out = NewRecord::outcome(&intent.action, &outcome);
            out.run_id = intent.run_id.clone();
            out.step_id = intent.step_id.clone();
            out.plan_digest = rec.plan_digest.clone();
            let _ = rec.append(out).await;
            cmds
        }
        Ok(()) => dispatch(model, action, source),
        Err(why) if intent.run_control => {
            model.flash = Some((
                model.now,
                format!(
                    "{} refused: the audit log cannot be written ({why})",
                    intent.action
                ),
            ));
            // A refused verb leaves its confirm layer: the reason is not lost.
            Vec::new()
        }
        Err(_) => dispatch(model, action, source),
    }
}
