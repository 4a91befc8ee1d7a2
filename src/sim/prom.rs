//! The drill's Prometheus: answers a prometheus target's checks from the world's own series
//! at world time, through the same `evaluate` and judge as a real server.

use std::future::{Future, ready};
use std::time::Duration;

use crate::backends::prometheus::check::{self as real, PromApi};
use crate::backends::prometheus::client::{PromError, Sample, Series};
use crate::engine::CheckOutcome;
use crate::plan::CheckKind;
use crate::sim::promql::{self, PromqlError};
use crate::sim::world::{OutageSource, SharedWorld, World};

/// How the drill's Prometheus names itself in messages.
pub const SERVER: &str = "the drill's Prometheus";

/// A Prometheus whose series are the drill world's, sampled every scrape interval.
#[derive(Clone)]
pub struct SimProm {
    world: SharedWorld,
}

impl SimProm {
    pub fn new(world: SharedWorld) -> SimProm {
        SimProm { world }
    }

    /// Runs `f` on the world, unless the drill's Prometheus is down (a `source_outage` of
    /// the app source) or the world is gone. The lock is held only inside this call.
    fn with_world<T>(
        &self,
        f: impl FnOnce(&World) -> Result<T, PromError>,
    ) -> Result<T, PromError> {
        let w = self.world.lock().map_err(|_| PromError::Http {
            server: SERVER.to_string(),
            detail: "the drill world is unavailable".to_string(),
        })?;
        if w.source_outage(OutageSource::App) {
            return Err(PromError::Connect {
                server: SERVER.to_string(),
                detail: "source sim:app is down (a source_outage fault)".to_string(),
            });
        }
        f(&w)
    }
}

/// A subset error as a Prometheus error: outside the subset, or refused as Prometheus would.
fn answer_error(query: &str, e: PromqlError) -> PromError {
    let (error_type, message) = match e {
        PromqlError::Unsupported(_) => {
            return PromError::Unsupported {
                query: query.to_string(),
                what: e.to_string(),
            };
        }
        PromqlError::Parse { .. } => ("bad_data", e.to_string()),
        PromqlError::Eval(_) => ("execution", e.to_string()),
    };
    PromError::Api {
        server: SERVER.to_string(),
        error_type: error_type.to_string(),
        message,
    }
}

impl PromApi for SimProm {
    fn query(&self, query: &str) -> impl Future<Output = Result<Vec<Sample>, PromError>> + Send {
        ready(self.with_world(|w| {
            promql::instant(w.series(), query, w.now_secs()).map_err(|e| answer_error(query, e))
        }))
    }

    fn query_range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: Duration,
    ) -> impl Future<Output = Result<Vec<Series>, PromError>> + Send {
        ready(self.with_world(|w| {
            promql::range(w.series(), query, start, end, step.as_secs_f64())
                .map_err(|e| answer_error(query, e))
        }))
    }

    fn now(&self) -> f64 {
        self.world.lock().map_or(0.0, |w| w.now_secs())
    }
}

/// Evaluates a check on prometheus target `target` against the drill world: the real
/// check's queries and judge, answered from the world's series at world time.
pub async fn evaluate(world: &SharedWorld, target: &str, kind: &CheckKind) -> CheckOutcome {
    real::evaluate(&SimProm::new(world.clone()), target, kind).await
}

#[cfg(test)]
mod tests;
