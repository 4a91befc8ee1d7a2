//! Volume usage from the kubelet's stats summary, read through the API server's node
//! proxy (`/api/v1/nodes/{node}/proxy/stats/summary`), one call per node under a timeout.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use serde::Deserialize;

/// How many nodes are asked at once.
const CONCURRENT_NODES: usize = 8;

#[derive(Deserialize)]
struct Summary {
    #[serde(default)]
    pods: Vec<PodStats>,
}

#[derive(Deserialize)]
struct PodStats {
    #[serde(default)]
    volume: Vec<VolumeStats>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VolumeStats {
    pvc_ref: Option<PvcRef>,
    used_bytes: Option<u64>,
    capacity_bytes: Option<u64>,
}

#[derive(Deserialize)]
struct PvcRef {
    name: String,
    namespace: String,
}

/// Claim → (used, capacity) for the claims of `namespace` in one node's summary.
pub fn parse_summary(
    text: &str,
    namespace: &str,
) -> Result<HashMap<String, (u64, u64)>, serde_json::Error> {
    let summary: Summary = serde_json::from_str(text)?;
    Ok(summary
        .pods
        .into_iter()
        .flat_map(|p| p.volume)
        .filter_map(|v| {
            let r = v.pvc_ref?;
            (r.namespace == namespace)
                .then_some((r.name, (v.used_bytes?, v.capacity_bytes.unwrap_or(0))))
        })
        .collect())
}

/// One node's summary, read under `timeout`.
pub async fn node_usage(
    client: &kube::Client,
    node: &str,
    namespace: &str,
    timeout: Duration,
) -> Result<HashMap<String, (u64, u64)>, String> {
    let path = format!("/api/v1/nodes/{node}/proxy/stats/summary");
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| format!("node {node} stats: {e}"))?;
    let text = tokio::time::timeout(timeout, client.request_text(request))
        .await
        .map_err(|_| {
            format!(
                "node {node} stats: no answer within {:.1}s",
                timeout.as_secs_f64()
            )
        })?
        .map_err(|e| format!("node {node} stats: {}", super::fault::describe_client(&e)))?;
    parse_summary(&text, namespace).map_err(|e| format!("node {node} stats: {e}"))
}

/// Every node's usage merged, and what failed (one message per node).
pub async fn usage(
    client: &kube::Client,
    nodes: Vec<String>,
    namespace: &str,
    timeout: Duration,
) -> (HashMap<String, (u64, u64)>, Vec<String>) {
    let results: Vec<_> = futures::stream::iter(nodes)
        .map(|node| async move { node_usage(client, &node, namespace, timeout).await })
        .buffer_unordered(CONCURRENT_NODES)
        .collect()
        .await;
    let mut merged = HashMap::new();
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok(u) => merged.extend(u),
            Err(e) => failures.push(e),
        }
    }
    (merged, failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_of_the_namespace_with_usage_are_kept() {
        let text = r#"{"node": {"nodeName": "n1"}, "pods": [
            {"podRef": {"name": "db-0", "namespace": "shop"}, "volume": [
                {"name": "data", "usedBytes": 40, "capacityBytes": 100,
                 "pvcRef": {"name": "data-db-0", "namespace": "shop"}},
                {"name": "token", "usedBytes": 1, "capacityBytes": 2}]},
            {"podRef": {"name": "x", "namespace": "other"}, "volume": [
                {"name": "data", "usedBytes": 5, "capacityBytes": 10,
                 "pvcRef": {"name": "data-x", "namespace": "other"}}]},
            {"podRef": {"name": "y", "namespace": "shop"}}]}"#;
        let u = parse_summary(text, "shop").unwrap();
        assert_eq!(u.len(), 1);
        assert_eq!(u["data-db-0"], (40, 100));
        assert!(parse_summary("not json", "shop").is_err());
    }
}
