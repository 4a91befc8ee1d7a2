//! A drill's world as its runner hosts it: takes the facilitator's requests (clock, faults,
//! hidden sources, announcements), journals world changes as effects, publishes what changed.

use tokio::sync::mpsc;

use super::bus::Published;
use super::store_journal::{DrillClock, StoreJournal};
use crate::sim::effects::{EffectLog, SimEffect};
use crate::sim::facilitate::{DrillSeen, FacilitatorRequest};
use crate::sim::source::DrillCommand;
use crate::sim::world::{SharedWorld, WorldControl};
use crate::store::Store;

/// The fastest and slowest a facilitator may run the world.
const SPEEDS: std::ops::RangeInclusive<f64> = 0.1..=100.0;

/// The drill world of the hosted run, with the clock of the task that ticks it.
pub struct DrillHost {
    world: SharedWorld,
    clock: mpsc::Sender<DrillCommand>,
    journal: StoreJournal,
    seen: DrillSeen,
    /// Batches of observations since the drill was last published.
    quiet: u32,
}

/// A console attaching catches up on recent events only: the drill is published again
/// every this many batches (about seconds) even when nothing changed.
const REPUBLISH_EVERY: u32 = 10;

impl DrillHost {
    pub fn new(
        world: SharedWorld,
        clock: mpsc::Sender<DrillCommand>,
        store: Store,
        run_id: &str,
        clock_now: DrillClock,
    ) -> DrillHost {
        let mut host = DrillHost {
            world,
            clock,
            journal: StoreJournal {
                store,
                run_id: run_id.to_string(),
                step_ids: Vec::new(),
            },
            seen: DrillSeen {
                speed: clock_now.speed,
                frozen: clock_now.frozen,
                ..DrillSeen::default()
            },
            quiet: REPUBLISH_EVERY,
        };
        if clock_now.frozen && host.tell(DrillCommand::Freeze(true)).is_err() {
            host.seen.frozen = false;
        }
        host.look();
        host
    }

    /// The drill as last published.
    pub fn seen(&self) -> &DrillSeen {
        &self.seen
    }

    /// Takes request `id`: the world or its clock changes, or an announcement is made.
    /// What to publish comes back; the change to the world is journaled as an effect, so a
    /// new runner (and a report) rebuilds the same world.
    pub async fn take(
        &mut self,
        id: i64,
        req: FacilitatorRequest,
        by: &str,
    ) -> Result<Vec<Published>, String> {
        match req {
            FacilitatorRequest::Speed { speed } => {
                if !SPEEDS.contains(&speed) {
                    return Err(format!("speed ×{speed} is outside 0.1–100"));
                }
                self.tell(DrillCommand::SetSpeed(speed))?;
                self.seen.speed = speed;
                self.keep_clock().await;
            }
            FacilitatorRequest::Freeze { frozen } => {
                self.tell(DrillCommand::Freeze(frozen))?;
                self.seen.frozen = frozen;
                self.keep_clock().await;
            }
            FacilitatorRequest::World { control } => {
                self.change(format!("facilitator-{id}"), control).await?;
            }
            FacilitatorRequest::Announce { text } => {
                return Ok(vec![Published::Announcement {
                    by: by.to_string(),
                    text,
                }]);
            }
        }
        self.look();
        self.quiet = 0;
        Ok(vec![Published::Drill(self.seen.clone())])
    }

    /// Applies `control` to the world now and journals it at the world time it took effect.
    pub async fn change(&mut self, key: String, control: WorldControl) -> Result<(), String> {
        let world_ms = {
            let mut w = self.world.lock().map_err(|_| "the drill world is broken")?;
            w.apply(control.clone()).map_err(|e| e.to_string())?;
            w.elapsed().as_millis() as u64
        };
        let effect = SimEffect {
            key,
            world_ms,
            controls: vec![control],
        };
        // Applied already: a journal that cannot take it is a gap in a replay, not a reason
        // to undo the facilitator's change.
        if let Err(e) = self.journal.record(&effect).await {
            tracing::warn!(error = %e, "cannot journal a facilitator's change to the world");
        }
        Ok(())
    }

    /// Journals the clock as now set, so a new runner goes on at this pace.
    async fn keep_clock(&self) {
        let clock = DrillClock {
            speed: self.seen.speed,
            frozen: self.seen.frozen,
        };
        if let Err(e) = self.journal.record_clock(clock).await {
            tracing::warn!(error = %e, "cannot journal the drill's clock");
        }
    }

    fn tell(&self, c: DrillCommand) -> Result<(), String> {
        self.clock
            .try_send(c)
            .map_err(|_| "the drill world's clock is not taking commands".to_string())
    }

    /// Reads the world's faults and hidden sources; true when they changed.
    fn look(&mut self) -> bool {
        let Ok(w) = self.world.lock() else {
            return false;
        };
        let faults = w.faults_view();
        let hidden = w.hidden_sources().to_vec();
        let changed = faults != self.seen.faults || hidden != self.seen.hidden;
        self.seen.faults = faults;
        self.seen.hidden = hidden;
        changed
    }

    /// What to publish when the world's timeline moved on its own (a fault started or
    /// ended), looked at with each batch of observations; and now and then regardless.
    pub fn moved(&mut self) -> Option<Published> {
        let changed = self.look();
        self.quiet += 1;
        if !changed && self.quiet < REPUBLISH_EVERY {
            return None;
        }
        self.quiet = 0;
        Some(Published::Drill(self.seen.clone()))
    }

    /// The drill has ended: its objectives are scored for good.
    pub fn finish(&mut self) {
        if let Ok(mut w) = self.world.lock() {
            w.finish_objectives();
        }
    }
}
