//! Series for a drill that stored none (a headless run hosted in its own process): the
//! world re-simulated from its scenario, seed and journaled effects, sampled every second.

use std::time::Duration;

use crate::runner::store_journal::SIM_EFFECT;
use crate::sim::effects::SimEffect;
use crate::sim::source::observe;
use crate::sim::world::{Scenario, World};
use crate::sources::{Observation, Payload, SourceId};
use crate::store::{JournalRecord, RunRow};
use crate::time::Timestamp;

use super::clock::Clock;

/// The longest stretch of world time re-simulated (a day).
const MAX_WORLD_SECS: u64 = 86_400;

/// Observations of the re-simulated world, stamped `start + world time`, and the clock that
/// puts the run's wall-clock actions on that world-time axis.
pub struct Resimulated {
    pub observations: Vec<Observation>,
    pub clock: Clock,
}

/// Re-simulates the drill world of `run` (None for a run on real targets) from the start
/// until `until` on the wall clock (mapped to world time through the effects' stamps).
/// `Err` when the scenario cannot be loaded any more or an effect row cannot be read.
pub fn resimulate(
    run: &RunRow,
    journal: &[JournalRecord],
    until: Timestamp,
) -> Result<Option<Resimulated>, String> {
    let Some(name) = &run.scenario else {
        return Ok(None);
    };
    let scenario = Scenario::load(name).map_err(|e| format!("scenario {name}: {e}"))?;
    let mut effects: Vec<(i64, SimEffect)> = journal
        .iter()
        .filter(|j| j.kind == SIM_EFFECT)
        .map(|j| {
            serde_json::from_value::<SimEffect>(j.data.clone())
                .map(|e| (j.at, e))
                .map_err(|e| format!("journal row {}: {e}", j.seq))
        })
        .collect::<Result<_, _>>()?;
    effects.sort_by_key(|(_, e)| e.world_ms);
    let start = Timestamp(run.created_at);
    let clock = Clock::World {
        start,
        anchors: effects
            .iter()
            .map(|(at, e)| (*at, e.world_ms as f64 / 1000.0))
            .collect(),
    };
    let last_effect = effects.last().map_or(0, |(_, e)| e.world_ms.div_ceil(1000));
    let horizon = (clock.x(until).ceil().max(0.0) as u64)
        .max(last_effect + 1)
        .min(MAX_WORLD_SECS);
    let finished = super::figures::is_final(&run.state);
    let observations = simulate(
        &scenario,
        run.seed.unwrap_or(0),
        effects.into_iter().map(|(_, e)| e).collect(),
        start,
        horizon,
        finished,
    );
    Ok(Some(Resimulated {
        observations,
        clock,
    }))
}

/// Steps the world second by second to `horizon`, applying each effect at its world time,
/// observing after every second (stamped `start` + world time); then its objectives, final
/// when the run finished.
pub fn simulate(
    scenario: &Scenario,
    seed: u64,
    effects: Vec<SimEffect>,
    start: Timestamp,
    horizon: u64,
    finished: bool,
) -> Vec<Observation> {
    let mut world = World::new(scenario, seed);
    let mut effects = effects.into_iter().peekable();
    let mut out = Vec::with_capacity(horizon as usize * 5);
    let second = Duration::from_secs(1);
    for t in 0..=horizon {
        let t_ms = t * 1000;
        while let Some(e) = effects.next_if(|e| e.world_ms <= t_ms) {
            advance_to(&mut world, e.world_ms);
            for c in e.controls {
                let _ = world.apply(c);
            }
        }
        advance_to(&mut world, t_ms);
        out.extend(observe(&mut world, stamp(start, t_ms), second));
    }
    if finished {
        world.finish_objectives();
    }
    let objectives = world.objectives();
    if !objectives.is_empty() {
        out.push(Observation {
            source: SourceId("sim:score".into()),
            at: stamp(start, horizon * 1000),
            interval: second,
            payload: Payload::Objectives(objectives),
        });
    }
    out
}

fn stamp(start: Timestamp, world_ms: u64) -> Timestamp {
    Timestamp(start.0.saturating_add(world_ms as i64))
}

fn advance_to(world: &mut World, world_ms: u64) {
    let now = world.elapsed().as_millis() as u64;
    if world_ms > now {
        world.step(Duration::from_millis(world_ms - now));
    }
}
