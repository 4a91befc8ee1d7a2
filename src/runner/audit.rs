//! What a run's engine did, in the audit log: notes, refusals, its exit, and a signed
//! checkpoint at every step boundary (and every minute while the run is active).

use serde_json::json;
use tokio::sync::watch;

use crate::audit::{AuditLog, EntryKind, NewRecord};
use crate::engine::{EngineEvent, Status, StepStatus};

/// How often a checkpoint is signed while a run is active.
pub const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The engine's side of the audit log, for whoever hosts the run (a console or a runner).
pub struct EngineAudit {
    log: AuditLog,
    plan_digest: Option<String>,
    settled: usize,
    active: watch::Sender<bool>,
}

impl EngineAudit {
    /// Starts the minute checkpoints of `log` (signed only while a run is active).
    pub fn new(log: AuditLog, plan_digest: Option<String>) -> EngineAudit {
        let (active, rx) = watch::channel(false);
        crate::audit::spawn_checkpoints(log.clone(), CHECKPOINT_EVERY, rx);
        EngineAudit {
            log,
            plan_digest,
            settled: 0,
            active,
        }
    }

    pub fn log(&self) -> &AuditLog {
        &self.log
    }

    pub fn plan_digest(&self) -> Option<String> {
        self.plan_digest.clone()
    }

    /// Records what the engine did or refused, and signs a checkpoint at every step
    /// boundary. `Err(why)` when the log could not be written; what happened stands.
    pub async fn record(&mut self, ev: &EngineEvent) -> Result<(), String> {
        let rec = match ev {
            EngineEvent::Note { text, .. } => NewRecord {
                kind: EntryKind::Engine,
                action: Some("run.note".into()),
                text: Some(text.clone()),
                plan_digest: self.plan_digest.clone(),
                ..NewRecord::default()
            },
            EngineEvent::Refused { verb, reason } => {
                let mut rec =
                    NewRecord::outcome(&format!("run.{verb}"), &format!("refused: {reason}"));
                rec.plan_digest = self.plan_digest.clone();
                rec
            }
            EngineEvent::View(v) => {
                let _ = self
                    .active
                    .send(matches!(v.status, Status::Running | Status::Pausing));
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
                    return self.log.checkpoint().await.map_err(|e| e.to_string());
                }
                return Ok(());
            }
            EngineEvent::Exited { status } => NewRecord {
                kind: EntryKind::Engine,
                action: Some("run.exited".into()),
                args: json!({ "status": format!("{status:?}") }),
                ..NewRecord::default()
            },
        };
        self.append(rec).await
    }

    /// Appends one record, with the plan's digest when it has none.
    pub async fn append(&self, mut rec: NewRecord) -> Result<(), String> {
        if rec.plan_digest.is_none() {
            rec.plan_digest = self.plan_digest.clone();
        }
        self.log.append(rec).await.map(|_| ()).map_err(|e| {
            tracing::error!(error = %e, "audit append failed");
            e.to_string()
        })
    }
}
