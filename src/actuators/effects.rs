//! Durable effect markers: an actuator records the idempotency key of every effect it
//! applies, where `probe` can find it after a crash (the marker-row pattern).

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::world::WorldControl;

/// One effect applied to the drill world, with the world time it was applied at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimEffect {
    pub key: String,
    /// World time, in milliseconds since the drill started.
    pub world_ms: u64,
    pub controls: Vec<WorldControl>,
}

/// Where effect markers are kept.
pub trait EffectLog: Send {
    /// Records an applied effect; returns once durable.
    fn record(&mut self, effect: &SimEffect) -> impl Future<Output = Result<(), String>> + Send;
    /// Whether an effect keyed `key` was recorded.
    fn contains(&mut self, key: &str) -> impl Future<Output = Result<bool, String>> + Send;
    /// Journals what effect `key` of step `step` is about to overwrite; returns once
    /// durable, before the effect is applied (`Record::PreImage`).
    fn keep_pre_image(
        &mut self,
        step: usize,
        key: &str,
        data: &serde_json::Value,
    ) -> impl Future<Output = Result<(), String>> + Send;
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
