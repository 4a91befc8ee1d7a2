//! Durable effect markers of the drill world: a `sim.*` actuator records the idempotency
//! key of every effect it applies, where `probe` finds it after a crash (marker rows).

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::engine::PreImageLog;
use crate::sim::world::WorldControl;

/// One effect applied to the drill world, with the world time it was applied at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimEffect {
    pub key: String,
    /// World time, in milliseconds since the drill started.
    pub world_ms: u64,
    pub controls: Vec<WorldControl>,
}

/// Where effect markers are kept (and, as for every actuator, pre-images).
pub trait EffectLog: PreImageLog {
    /// Records an applied effect; returns once durable.
    fn record(&mut self, effect: &SimEffect) -> impl Future<Output = Result<(), String>> + Send;
    /// Whether an effect keyed `key` was recorded.
    fn contains(&mut self, key: &str) -> impl Future<Output = Result<bool, String>> + Send;
}

/// Markers in memory (tests, and drills without a store).
#[derive(Clone, Debug, Default)]
pub struct MemEffects {
    pub effects: Vec<SimEffect>,
    /// Pre-images kept, as (step, key, data).
    pub pre_images: Vec<(usize, String, serde_json::Value)>,
}

impl EffectLog for MemEffects {
    async fn record(&mut self, effect: &SimEffect) -> Result<(), String> {
        self.effects.push(effect.clone());
        Ok(())
    }

    async fn contains(&mut self, key: &str) -> Result<bool, String> {
        Ok(self.effects.iter().any(|e| e.key == key))
    }
}

impl PreImageLog for MemEffects {
    async fn keep_pre_image(
        &mut self,
        step: usize,
        key: &str,
        data: &serde_json::Value,
    ) -> Result<(), String> {
        self.pre_images.push((step, key.to_string(), data.clone()));
        Ok(())
    }
}

/// The drill world of a run: the scenario from its seed, with every journaled effect
/// re-applied at the world time it happened.
pub fn rebuild_world(
    scenario: &crate::sim::world::Scenario,
    seed: u64,
    effects: &[SimEffect],
) -> crate::sim::world::World {
    let mut world = crate::sim::world::World::new(scenario, seed);
    let mut effects = effects.to_vec();
    effects.sort_by_key(|e| e.world_ms);
    for e in effects {
        let now = world.elapsed().as_millis() as u64;
        if e.world_ms > now {
            world.step(std::time::Duration::from_millis(e.world_ms - now));
        }
        for c in e.controls {
            let _ = world.apply(c);
        }
    }
    world
}
