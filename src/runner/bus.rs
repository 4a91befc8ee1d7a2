//! What a runner publishes on the store for consoles to follow (engine events, a drill
//! world's observations), and how anyone tells whether a run's runner is alive.

use serde::{Deserialize, Serialize};

use crate::engine::EngineEvent;
use crate::sources::Observation;
use tokio::sync::mpsc;

use crate::store::{LeaseRow, Store};

/// One entry of a run's event stream (`Store::push_run_event`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
// Observations are the common entry; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum Published {
    /// A note, refusal or exit of the run's engine (views go to the run-view row).
    Engine(EngineEvent),
    /// A drill world's observations (about a second's worth), for the panes of every
    /// attached console.
    Observations(Vec<Observation>),
    /// The requests that wait for a second person, whenever that list changes.
    Approvals(Vec<PendingApproval>),
    /// Someone broke glass: the user, the request and the justification.
    BreakGlass {
        by: String,
        request: i64,
        justification: String,
    },
    /// A drill's clock, faults and hidden sources, whenever they change.
    Drill(crate::sim::facilitate::DrillSeen),
    /// A facilitator's note to every console of the drill.
    Announcement { by: String, text: String },
}

/// A request the runner holds until enough approvers (not the requester) approve it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// The request's id in the store.
    pub request: i64,
    /// Who asked (the unix user, as the audit log names them).
    pub requester: String,
    /// The action asked for, e.g. `run.rollback`.
    pub action: String,
    /// The requester's typed reason, if the action has one.
    pub reason: String,
    /// Approvals still needed.
    pub needed: u32,
    /// Who approved so far.
    pub approved_by: Vec<String>,
    /// When it was asked (ms since the epoch) and when it expires.
    pub since: i64,
    pub expires: i64,
}

impl PendingApproval {
    /// `alice asks to roll back: disk filling`.
    pub fn asks(&self) -> String {
        let what = match self.action.as_str() {
            "run.rollback" => "roll back".to_string(),
            "run.abort" => "abort".to_string(),
            "run.skip" => "skip a step".to_string(),
            a if a.starts_with("run.resolve") => "settle an in-doubt step".to_string(),
            a => a.trim_start_matches("run.").replace(['.', '_'], " "),
        };
        if self.reason.is_empty() {
            format!("{} asks to {what}", self.requester)
        } else {
            format!("{} asks to {what}: {}", self.requester, self.reason)
        }
    }
}

/// `operator@host:pid` → `(host, pid)`.
pub fn holder_place(holder: &str) -> Option<(String, i64)> {
    let (_, place) = holder.rsplit_once('@')?;
    let (host, pid) = place.rsplit_once(':')?;
    Some((host.to_string(), pid.parse().ok()?))
}

/// Whether the runner holding `lease` is alive: its lease has not expired and, when it
/// runs on this host, its process still exists (a killed runner shows as gone at once).
pub fn runner_alive(lease: &LeaseRow, now_ms: i64) -> bool {
    if lease.expires_at <= now_ms {
        return false;
    }
    !super::session::holder_is_dead_here(&lease.holder)
}

/// The store's change feed on a task of its own, as a channel that is safe to wait on in
/// a `select!`: one wake per change that may concern `run_id` (a PostgreSQL notification
/// names its run; others are dropped here), coalesced while one is pending, and at least
/// one every 2 s. `None` when the store gives no feed (the caller polls).
pub async fn wakes(store: &Store, run_id: &str) -> Option<mpsc::Receiver<()>> {
    let mut changes = match store.changes().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "no change feed from the store: polling instead");
            return None;
        }
    };
    let (tx, rx) = mpsc::channel(1);
    let run_id = run_id.to_string();
    tokio::spawn(async move {
        let mut quiet = tokio::time::Instant::now();
        loop {
            let about = changes.next().await;
            let ours = about.as_deref().is_none_or(|r| r == run_id);
            // Another run's change: no wake, unless none came for 2 s.
            if !ours && quiet.elapsed() < std::time::Duration::from_secs(2) {
                continue;
            }
            quiet = tokio::time::Instant::now();
            if let Err(mpsc::error::TrySendError::Closed(())) = tx.try_send(()) {
                return;
            }
        }
    });
    Some(rx)
}
