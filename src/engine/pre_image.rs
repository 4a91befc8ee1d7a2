//! Pre-images: what an effect is about to overwrite, journaled before it is applied, so an
//! automatic undo (`patch` with `undo = "auto"`) can restore it after a crash.

use std::future::Future;

/// Where an actuator keeps pre-images.
pub trait PreImageLog: Send {
    /// Journals what effect `key` of step `step` is about to overwrite; returns once
    /// durable, before the effect is applied (`Record::PreImage`).
    fn keep_pre_image(
        &mut self,
        step: usize,
        key: &str,
        data: &serde_json::Value,
    ) -> impl Future<Output = Result<(), String>> + Send;
}
