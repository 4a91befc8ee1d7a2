//! What a runner publishes on the store for consoles to follow (engine events, a drill
//! world's observations), and how anyone tells whether a run's runner is alive.

use serde::{Deserialize, Serialize};

use crate::engine::EngineEvent;
use crate::sources::Observation;
use crate::store::LeaseRow;

/// One entry of a run's event stream (`Store::push_run_event`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
// Observations are the common entry; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum Published {
    /// A note, refusal or exit of the run's engine (views go to the run-view row).
    Engine(EngineEvent),
    /// A drill world's observation, for the panes of every attached console.
    Observation(Observation),
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
