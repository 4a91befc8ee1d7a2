//! What a facilitator does to a drill's world while it runs: inject a fault of the
//! scenario's vocabulary (now or at a world time), end one early, hide a source.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::faults::{FaultRun, describe};
use super::scenario::OutageSource;
use super::{World, WorldControl};

/// A control that is not a facilitator's, handed back for the world's state to take.
pub struct NotLive(pub WorldControl);

/// Where a fault is on the world's timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultState {
    Scheduled,
    Active,
    Ended,
}

/// A fault of the world's timeline as a facilitator's console lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultView {
    /// Its place on the timeline (what `EndFault` names).
    pub index: usize,
    pub text: String,
    /// World time it starts, and (when it has one) ends, in milliseconds.
    pub at_ms: u64,
    pub until_ms: Option<u64>,
    pub state: FaultState,
    /// Injected by a facilitator, not the scenario's own.
    pub live: bool,
}

impl World {
    /// Takes a facilitator's control; any other is handed back.
    pub(super) fn facilitate(&mut self, c: WorldControl) -> Result<(), NotLive> {
        match c {
            WorldControl::InjectFault(mut spec) => {
                // A time already past means now: the timeline never runs backwards.
                let now_d = self.elapsed();
                if spec.at < now_d {
                    spec.at = now_d;
                }
                // Participants see what it does, not that it was injected: no world event.
                let mut run = FaultRun::new(spec);
                run.announced = false;
                self.faults.push(run);
                Ok(())
            }
            WorldControl::EndFault { index } => {
                let now_d = self.elapsed();
                match self.faults.get_mut(index) {
                    Some(run) if run.ended => {}
                    Some(run) if !run.started => {
                        // Never starts (and, like its start, is not a world event).
                        run.started = true;
                        run.ended = true;
                    }
                    // It ends at the next sub-step, which undoes what it did (a fill's bytes).
                    Some(run) => run.spec.duration = Some(now_d.saturating_sub(run.spec.at)),
                    None => return Ok(()),
                }
                Ok(())
            }
            WorldControl::HideSource { source, hidden } => {
                let had = self.hidden.contains(&source);
                if hidden && !had {
                    self.hidden.push(source);
                } else if !hidden && had {
                    self.hidden.retain(|s| *s != source);
                }
                Ok(())
            }
            other => Err(NotLive(other)),
        }
    }

    /// Whether a facilitator hid `source` from the consoles.
    pub fn source_hidden(&self, source: OutageSource) -> bool {
        self.hidden.contains(&source)
    }

    /// The sources hidden from the consoles.
    pub fn hidden_sources(&self) -> &[OutageSource] {
        &self.hidden
    }

    /// Every fault of the world's timeline, scheduled, active or ended.
    pub fn faults_view(&self) -> Vec<FaultView> {
        self.faults
            .iter()
            .enumerate()
            .map(|(index, run)| FaultView {
                index,
                text: describe(&run.spec.fault, &self.state),
                at_ms: run.spec.at.as_millis() as u64,
                until_ms: run
                    .spec
                    .duration
                    .map(|d| (run.spec.at + d).as_millis() as u64),
                state: match (run.started, run.ended) {
                    (_, true) => FaultState::Ended,
                    (true, false) => FaultState::Active,
                    (false, false) => FaultState::Scheduled,
                },
                live: index >= self.scripted,
            })
            .collect()
    }
}

/// World time as `12m05s`.
pub fn fmt_world(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::world::scenario::{Fault, FaultSpec, Fill};

    fn world() -> World {
        let sc = crate::sim::world::Scenario::builtin("backfill-slot-fill")
            .and_then(Result::ok)
            .unwrap();
        World::new(&sc, 7)
    }

    fn stall(at: u64) -> FaultSpec {
        FaultSpec {
            at: Duration::from_secs(at),
            duration: None,
            fault: Fault::ReplicaApplyStall { replica: 1 },
        }
    }

    #[test]
    fn an_injected_stall_stops_replay_until_it_is_ended() {
        let mut w = world();
        w.step(Duration::from_secs(10));
        let lsn_before = w.state().replicas[1].replayed;
        w.apply(WorldControl::InjectFault(stall(0))).unwrap();
        let injected = w.faults_view().last().cloned().unwrap();
        assert!(injected.live);
        assert_eq!(injected.at_ms, 10_000, "a past time means now");
        w.step(Duration::from_secs(30));
        assert_eq!(w.faults_view()[injected.index].state, FaultState::Active);
        let stalled = w.state().replicas[1].replayed;
        w.step(Duration::from_secs(30));
        assert_eq!(w.state().replicas[1].replayed, stalled, "replay stalled");
        assert!(stalled >= lsn_before);
        w.apply(WorldControl::EndFault {
            index: injected.index,
        })
        .unwrap();
        w.step(Duration::from_secs(30));
        assert_eq!(w.faults_view()[injected.index].state, FaultState::Ended);
        assert!(w.state().replicas[1].replayed > stalled, "replay goes on");
    }

    #[test]
    fn a_fault_at_a_later_world_time_waits_and_can_be_cancelled() {
        let mut w = world();
        w.apply(WorldControl::InjectFault(stall(120))).unwrap();
        let i = w.faults_view().len() - 1;
        w.step(Duration::from_secs(60));
        assert_eq!(w.faults_view()[i].state, FaultState::Scheduled);
        w.apply(WorldControl::EndFault { index: i }).unwrap();
        let before = w.state().replicas[1].replayed;
        w.step(Duration::from_secs(120));
        assert_eq!(w.faults_view()[i].state, FaultState::Ended);
        assert!(w.state().replicas[1].replayed > before, "never stalled");
        let texts: Vec<String> = w.drain_events().into_iter().map(|e| e.text).collect();
        assert!(
            !texts.iter().any(|t| t.contains("WAL replay stalled")),
            "participants see effects, not the facilitator's action: {texts:?}"
        );
    }

    #[test]
    fn ending_a_disk_fill_gives_its_bytes_back() {
        let mut w = world();
        let used = |w: &World| w.state().volumes[0].fill;
        w.apply(WorldControl::InjectFault(FaultSpec {
            at: Duration::ZERO,
            duration: None,
            fault: Fault::DiskFill {
                volume: 0,
                fill: Fill::Bytes(5.0 * 1024.0 * 1024.0 * 1024.0),
            },
        }))
        .unwrap();
        w.step(Duration::from_secs(1));
        assert!(used(&w) > 1.0e9);
        let i = w.faults_view().len() - 1;
        w.apply(WorldControl::EndFault { index: i }).unwrap();
        w.step(Duration::from_secs(1));
        assert!(used(&w) < 1.0, "{}", used(&w));
    }

    #[test]
    fn a_hidden_source_is_hidden_until_shown() {
        let mut w = world();
        w.apply(WorldControl::HideSource {
            source: OutageSource::Db,
            hidden: true,
        })
        .unwrap();
        assert!(w.source_hidden(OutageSource::Db));
        assert!(!w.source_hidden(OutageSource::App));
        w.apply(WorldControl::HideSource {
            source: OutageSource::Db,
            hidden: false,
        })
        .unwrap();
        assert!(!w.source_hidden(OutageSource::Db));
    }

    #[test]
    fn the_same_live_faults_make_the_same_world() {
        let run = || {
            let mut w = world();
            w.step(Duration::from_secs(40));
            w.apply(WorldControl::InjectFault(stall(90))).unwrap();
            w.step(Duration::from_secs(100));
            w.apply(WorldControl::EndFault { index: 1 }).unwrap();
            w.step(Duration::from_secs(100));
            w.state_digest()
        };
        assert_eq!(run(), run());
    }
}
