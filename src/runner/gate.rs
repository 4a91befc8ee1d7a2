//! The runner's policy gate: who asked (from the request's own audit intent), what the
//! policy in force says of it, and the requests that wait for a second person.

use crate::audit::AuditRecord;
use crate::diag::SourceFile;
use crate::policy::{Decision, Identity, Policy};
use crate::store::{AuditQuery, RequestRow, Store};

use super::bus::PendingApproval;

/// A request held until enough approvers approve it.
#[derive(Clone, Debug)]
pub struct Awaiting {
    pub row: RequestRow,
    pub requester: Identity,
    pub pending: PendingApproval,
}

/// The policy as last read from the store, and what waits for approval.
#[derive(Default)]
pub struct Gate {
    /// The version in force and the policy (Err: it does not parse, so nothing is allowed).
    policy: Option<(i64, Result<Policy, String>)>,
    pub awaiting: Vec<Awaiting>,
}

impl Gate {
    /// Reads the policy in force again when its version changed.
    pub async fn refresh(&mut self, store: &Store) -> Result<(), String> {
        let row = store.policy().await.map_err(|e| e.to_string())?;
        match row {
            None => self.policy = None,
            Some(r) if self.policy.as_ref().is_some_and(|(v, _)| *v == r.version) => {}
            Some(r) => {
                let parsed = Policy::parse(&SourceFile::new(r.source_name.clone(), r.text))
                    .map_err(|e| format!("policy version {} does not parse: {e:?}", r.version));
                self.policy = Some((r.version, parsed));
            }
        }
        Ok(())
    }

    pub fn has_policy(&self) -> bool {
        self.policy.is_some()
    }

    /// What the policy says of `who` doing `action`; everything is allowed without one.
    pub fn decide(&self, who: &Identity, action: &str) -> Decision {
        match &self.policy {
            None => Decision::Allow,
            Some((_, Ok(p))) => p.decide(who, action),
            Some((_, Err(why))) => Decision::Deny {
                reason: format!("{why}: nothing is allowed until a good one is applied"),
            },
        }
    }

    /// How long a request may wait for approval (10 minutes without a policy's say).
    pub fn timeout_ms(&self) -> i64 {
        match &self.policy {
            Some((_, Ok(p))) => p.approval.timeout.as_millis() as i64,
            _ => 600_000,
        }
    }

    /// How long a request must have waited before `who` may break glass on it, or why
    /// `who` may not.
    pub fn break_glass_after(&self, who: &Identity) -> Result<std::time::Duration, String> {
        let p = match &self.policy {
            Some((_, Ok(p))) => p,
            Some((_, Err(why))) => return Err(why.clone()),
            None => return Err("no policy: nothing waits for approval".into()),
        };
        match &p.break_glass {
            None => Err("the policy has no [break_glass]: only an approver can let it run".into()),
            Some(_) if !p.may_break_glass(who) => Err(format!(
                "{} may not break glass (policy [break_glass] allowed: {})",
                who.user,
                p.break_glass
                    .as_ref()
                    .map(|b| b
                        .allowed
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            )),
            Some(b) => Ok(b.after),
        }
    }

    pub fn pending(&self) -> Vec<PendingApproval> {
        self.awaiting.iter().map(|a| a.pending.clone()).collect()
    }
}

/// Who sent a request: the unix identity on its audit intent record (never the name the
/// console typed), after checking that the intent is the request's.
pub async fn requester(store: &Store, row: &RequestRow) -> Result<(Identity, AuditRecord), String> {
    let seq = u64::try_from(row.audit_seq).unwrap_or(0);
    let rows = store
        .audit_rows(AuditQuery {
            after_seq: seq.saturating_sub(1),
            limit: Some(1),
        })
        .await
        .map_err(|e| format!("cannot read its audit intent: {e}"))?;
    let rec: AuditRecord = rows
        .first()
        .filter(|r| r.seq == seq)
        .ok_or_else(|| format!("its audit intent (record {seq}) is not in the log"))
        .and_then(|r| {
            serde_json::from_str(&r.record)
                .map_err(|e| format!("its audit intent does not read: {e}"))
        })?;
    if rec.action.as_deref() != Some(row.action.as_str()) {
        return Err(format!(
            "its audit intent (record {seq}) is for {:?}, not {}",
            rec.action, row.action
        ));
    }
    let who = Identity {
        user: rec.operator.user.clone(),
        groups: rec.operator.groups.clone(),
    };
    Ok((who, rec))
}
