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
