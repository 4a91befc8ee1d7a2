//! `volume_usage` checks on kubernetes targets: the claim's usage from the kubelet stats
//! summary of the node running the pod that mounts it, read through the API server.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::Api;
use kube::api::ListParams;

use super::{CALL_TIMEOUT, Cluster};
use crate::backends::kubernetes::source::fault::describe_client;
use crate::backends::kubernetes::source::stats::node_usage;
use crate::engine::CheckOutcome;

/// Passes when claim `volume` of `cluster`'s namespace is at most `max` (0–1) full; a
/// claim, pod or node that cannot be read makes the check inconclusive.
pub async fn evaluate(cluster: &Cluster, target: &str, volume: &str, max: f64) -> CheckOutcome {
    match usage(cluster, volume).await {
        Ok((used, capacity)) => {
            let ratio = if capacity > 0 {
                used as f64 / capacity as f64
            } else {
                0.0
            };
            if ratio > max {
                CheckOutcome::Fail(format!(
                    "{volume} {:.1}% used > {:.1}%",
                    ratio * 100.0,
                    max * 100.0
                ))
            } else {
                CheckOutcome::Pass
            }
        }
        Err(e) => CheckOutcome::Inconclusive(format!("usage of {volume} on {target}: {e}")),
    }
}

/// (used, capacity) of claim `volume`: its pod's node, then that node's stats summary.
async fn usage(c: &Cluster, volume: &str) -> Result<(u64, u64), String> {
    let within = |what: &'static str| move |_| format!("{what}: no answer within {CALL_TIMEOUT:?}");
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(c.client.clone(), &c.namespace);
    tokio::time::timeout(CALL_TIMEOUT, claims.get(volume))
        .await
        .map_err(within("claim"))?
        .map_err(|e| format!("claim: {}", describe_client(&e)))?;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), &c.namespace);
    let list = tokio::time::timeout(CALL_TIMEOUT, pods.list(&ListParams::default()))
        .await
        .map_err(within("pods"))?
        .map_err(|e| format!("pods: {}", describe_client(&e)))?;
    let node = list
        .items
        .iter()
        .filter(|p| {
            p.spec.as_ref().is_some_and(|s| {
                s.volumes.iter().flatten().any(|v| {
                    v.persistent_volume_claim
                        .as_ref()
                        .is_some_and(|c| c.claim_name == volume)
                })
            })
        })
        .find_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()))
        .ok_or_else(|| "no scheduled pod mounts it".to_string())?;
    let usage = node_usage(&c.client, &node, &c.namespace, CALL_TIMEOUT).await?;
    usage
        .get(volume)
        .copied()
        .ok_or_else(|| format!("node {node} reports no usage for it"))
}
