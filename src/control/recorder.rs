//! The audit side of the one door: an action's intent is appended and committed before it
//! is applied (with its request row, for a run a runner drives); run control fails closed.

use crate::app::intent::Intent;
use crate::audit::{AuditLog, EntryKind, NewRecord};
use crate::engine::EngineEvent;
use crate::runner::audit::EngineAudit;
use crate::store::NewRequest;

/// The console's audit log, or why there is none.
pub struct Recorder {
    log: Option<AuditLog>,
    /// Why the log cannot be written, when it cannot.
    pub down: Option<String>,
    pub(super) plan_digest: Option<String>,
    /// The engine's records, when this process hosts the run's engine (a drill, headless);
    /// a console attached to a runner leaves them to the runner.
    engine: Option<EngineAudit>,
    /// Why the session could not be sealed at exit, when it could not.
    unsealed: Option<String>,
}

impl Recorder {
    /// A recorder over `log` for a console that hosts its run's engine; `Err(why)` makes a
    /// recorder that refuses run control.
    pub fn new(log: Result<AuditLog, String>, plan_digest: Option<String>) -> Recorder {
        let mut r = Recorder::attached(log, plan_digest);
        r.engine = r
            .log
            .as_ref()
            .map(|l| EngineAudit::new(l.clone(), r.plan_digest.clone()));
        r
    }

    /// A recorder for a console attached to a run that a runner process drives.
    pub fn attached(log: Result<AuditLog, String>, plan_digest: Option<String>) -> Recorder {
        let (log, down) = match log {
            Ok(l) => (Some(l), None),
            Err(e) => (None, Some(e)),
        };
        Recorder {
            log,
            down,
            plan_digest,
            engine: None,
            unsealed: None,
        }
    }

    pub fn log(&self) -> Option<&AuditLog> {
        self.log.as_ref()
    }

    fn kept(&mut self, r: Result<(), String>) -> Result<(), String> {
        match &r {
            Ok(()) => self.down = None,
            Err(why) => {
                tracing::error!(error = %why, "audit append failed");
                self.down = Some(why.clone());
            }
        }
        r
    }

    pub(super) async fn append(&mut self, mut rec: NewRecord) -> Result<(), String> {
        let Some(log) = &self.log else {
            return Err(self.down.clone().unwrap_or_else(|| "no audit log".into()));
        };
        if rec.plan_digest.is_none() {
            rec.plan_digest = self.plan_digest.clone();
        }
        let r = log.append(rec).await.map(|_| ()).map_err(|e| e.to_string());
        self.kept(r)
    }

    fn intent_record(&self, intent: &Intent) -> NewRecord {
        NewRecord {
            kind: EntryKind::Intent,
            key: intent.key.clone(),
            action: Some(intent.action.clone()),
            run_id: intent.run_id.clone(),
            step_id: intent.step_id.clone(),
            args: intent.args.clone(),
            plan_digest: self.plan_digest.clone(),
            ..NewRecord::default()
        }
    }

    /// Appends and commits an intent.
    pub async fn intent(&mut self, intent: &Intent) -> Result<(), String> {
        let rec = self.intent_record(intent);
        self.append(rec).await
    }

    /// Appends an intent and, in the same transaction, the request it makes of the run's
    /// runner: both commit or neither. Returns the request's id.
    pub async fn intent_with_request(
        &mut self,
        intent: &Intent,
        request: &NewRequest,
    ) -> Result<i64, String> {
        let rec = self.intent_record(intent);
        let Some(log) = &self.log else {
            return Err(self.down.clone().unwrap_or_else(|| "no audit log".into()));
        };
        let r = log
            .append_with_request(rec, request)
            .await
            .map_err(|e| e.to_string());
        let id = r.as_ref().ok().copied();
        self.kept(r.map(|_| ()))?;
        id.ok_or_else(|| "the request was not recorded".to_string())
    }

    /// Records what the engine did or refused, when this process hosts the engine.
    /// Failures here are shown but cannot undo what already happened.
    pub async fn engine(&mut self, ev: &EngineEvent) {
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        if let Err(why) = engine.record(ev).await {
            self.down = Some(why);
        } else if !matches!(ev, EngineEvent::View(_)) {
            self.down = None;
        }
    }

    /// A responder's note.
    pub async fn note(&mut self, text: &str) -> Result<(), String> {
        self.append(NewRecord::note(text)).await
    }

    /// An action was recorded and sent, but could not reach the engine (or the drill
    /// world): recorded as not delivered, so the log never claims an effect that was lost.
    pub async fn undelivered(&mut self, action: &str, why: &str) {
        let rec = NewRecord::outcome(action, &format!("not delivered: {why}"));
        let _ = self.append(rec).await;
    }

    /// The terminal went away or a signal asked the console to stop.
    pub async fn lost(&mut self, why: &str) {
        let mut rec = NewRecord::outcome("console.lost", why);
        rec.kind = EntryKind::Engine;
        let _ = self.append(rec).await;
    }

    /// A console attached to (or detached from) a run: who, how, and as what.
    pub async fn presence(&mut self, action: &str, run_id: &str, args: serde_json::Value) {
        let rec = NewRecord {
            kind: EntryKind::Engine,
            action: Some(action.to_string()),
            run_id: Some(run_id.to_string()),
            args,
            ..NewRecord::default()
        };
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
