//! Checks on prometheus targets: `promql` (instant, or over its `for` window with a range
//! query) and `volume_usage` (kubelet volume stats); a server that does not answer is inconclusive.
//! The same checks run on a real server and on the drill's (`PromApi`), so both agree.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::client::{PromClient, PromError, quote};
use super::client::{Sample, Series};
use super::judge;
use crate::engine::CheckOutcome;
use crate::plan::{CheckKind, CompareOp, Plan, TargetKind};
use crate::redact::redact_str;

/// Every query of a check gives up after this long (the check is then inconclusive).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// The prometheus targets of a run: a client per target (its URL read from its secret),
/// or why there is none, reported when a check uses it.
#[derive(Default)]
pub struct PromTargets {
    clients: BTreeMap<String, Result<PromClient, String>>,
}

impl PromTargets {
    pub fn for_plan(plan: &Plan) -> PromTargets {
        let clients = plan
            .targets
            .values()
            .filter(|t| t.kind == TargetKind::Prometheus)
            .map(|t| {
                let client = match &t.url {
                    Some(secret) => secret.resolve().and_then(|url| {
                        PromClient::with_ca(&url, QUERY_TIMEOUT, t.ca.as_deref()).map_err(|e| {
                            match e {
                                PromError::Ca(m) => m,
                                e => format!(
                                    "bad URL from {}: {}",
                                    secret.origin(),
                                    redact_str(&e.to_string())
                                ),
                            }
                        })
                    }),
                    None => Err("no url".to_string()),
                };
                (
                    t.name.clone(),
                    client.map_err(|e| format!("target {}: {e}", t.name)),
                )
            })
            .collect();
        PromTargets { clients }
    }

    /// The client of target `name`, or why there is none.
    pub fn client(&self, name: &str) -> Result<&PromClient, String> {
        match self.clients.get(name) {
            Some(Ok(c)) => Ok(c),
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!("{name} is not a prometheus target of this plan")),
        }
    }
}

/// What a check asks of a Prometheus: a real server (`PromClient`) or the drill's
/// (`sim::prom::SimProm`, which answers from the world's series at world time).
pub trait PromApi {
    /// An instant query now: one sample per series (a scalar is one unlabelled sample).
    fn query(&self, promql: &str) -> impl Future<Output = Result<Vec<Sample>, PromError>> + Send;

    /// A range query from `start` to `end` (in `now`'s clock) every `step`.
    fn query_range(
        &self,
        promql: &str,
        start: f64,
        end: f64,
        step: Duration,
    ) -> impl Future<Output = Result<Vec<Series>, PromError>> + Send;

    /// Now, in the clock of the server's series: unix seconds, or world seconds in a drill.
    fn now(&self) -> f64;
}

impl PromApi for PromClient {
    fn query(&self, promql: &str) -> impl Future<Output = Result<Vec<Sample>, PromError>> + Send {
        PromClient::query(self, promql)
    }

    fn query_range(
        &self,
        promql: &str,
        start: f64,
        end: f64,
        step: Duration,
    ) -> impl Future<Output = Result<Vec<Series>, PromError>> + Send {
        PromClient::query_range(self, promql, start, end, step)
    }

    fn now(&self) -> f64 {
        unix_now()
    }
}

/// Evaluates one check on the Prometheus of target `target`.
pub async fn evaluate<P: PromApi>(client: &P, target: &str, kind: &CheckKind) -> CheckOutcome {
    let unanswered = |e: PromError| match e {
        // Its text says what the facilitator needs; the target adds nothing.
        PromError::Unsupported { .. } => {
            CheckOutcome::Inconclusive(redact_str(&e.to_string()).into_owned())
        }
        e => CheckOutcome::Inconclusive(format!("{target}: {}", redact_str(&e.to_string()))),
    };
    match kind {
        CheckKind::Promql {
            query,
            op,
            threshold,
            for_: None,
        } => match client.query(query).await {
            Ok(samples) => judge::instant(query, &samples, *op, *threshold),
            Err(e) => unanswered(e),
        },
        CheckKind::Promql {
            query,
            op,
            threshold,
            for_: Some(window),
        } => {
            let end = client.now();
            let start = end - window.as_secs_f64();
            let step = step_for(*window);
            match client.query_range(query, start, end, step).await {
                Ok(series) => judge::window(
                    query,
                    &series,
                    *op,
                    *threshold,
                    (start, end, step.as_secs_f64()),
                ),
                Err(e) => unanswered(e),
            }
        }
        CheckKind::VolumeUsage { volume, max } => {
            let query = volume_usage_query(volume);
            match client.query(&query).await {
                Ok(samples) if samples.is_empty() => CheckOutcome::Inconclusive(format!(
                    "{target}: no kubelet volume stats for {volume}"
                )),
                Ok(samples) => match judge::instant(&query, &samples, CompareOp::Le, *max) {
                    CheckOutcome::Fail(_) => {
                        let worst = samples.iter().map(|s| s.value).fold(f64::NAN, f64::max);
                        CheckOutcome::Fail(format!(
                            "volume {volume} is {:.1}% used (max {:.1}%)",
                            worst * 100.0,
                            max * 100.0
                        ))
                    }
                    other => other,
                },
                Err(e) => unanswered(e),
            }
        }
        CheckKind::ErrorRate { .. } => CheckOutcome::Inconclusive(format!(
            "{target}: error_rate on a prometheus target needs the query that defines errors; \
             use a `promql` check, e.g. query = \"sum(rate(http_requests_total{{code=~\\\"5..\\\"}}[5m])) / sum(rate(http_requests_total[5m]))\", op = \"<\", threshold = 0.01"
        )),
        other => CheckOutcome::Inconclusive(format!(
            "{} checks do not apply to a prometheus target ({target})",
            other.name()
        )),
    }
}

/// A few points per window, never finer than a second nor coarser than 15 s.
pub fn step_for(window: Duration) -> Duration {
    (window / 30).clamp(Duration::from_secs(1), Duration::from_secs(15))
}

/// Used fraction of a PVC by kubelet's figures; `volume` is `pvc` or `namespace/pvc`.
pub fn volume_usage_query(volume: &str) -> String {
    let selector = match volume.split_once('/') {
        Some((ns, pvc)) => format!(
            "namespace={}, persistentvolumeclaim={}",
            quote(ns),
            quote(pvc)
        ),
        None => format!("persistentvolumeclaim={}", quote(volume)),
    };
    format!(
        "max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{{{selector}}}) \
         / max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes{{{selector}}})"
    )
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_a_few_seconds() {
        assert_eq!(step_for(Duration::from_secs(10)), Duration::from_secs(1));
        assert_eq!(step_for(Duration::from_secs(300)), Duration::from_secs(10));
        assert_eq!(step_for(Duration::from_secs(3600)), Duration::from_secs(15));
    }

    #[test]
    fn volume_queries_select_by_claim_and_namespace() {
        let q = volume_usage_query("shop/data-0");
        assert!(
            q.contains(r#"namespace="shop", persistentvolumeclaim="data-0""#),
            "{q}"
        );
        assert!(volume_usage_query("data\"0").contains(r#"persistentvolumeclaim="data\"0""#));
    }
}
