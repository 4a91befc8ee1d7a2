//! The Prometheus source: a task per server that asks it, each interval, for replication
//! lag (postgres_exporter) and volume usage (kubelet) with instant queries, each under a timeout.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::client::{PromClient, PromError};
use super::figures;
use crate::redact::redact_str;
use crate::sources::{Observation, Payload, SourceId, StorageSnapshot};
use crate::text::DisplayText;
use crate::time::Timestamp;

/// One Prometheus server to watch. The client holds the resolved URL (it may carry
/// credentials); it never appears in an observation or a Debug form.
#[derive(Clone, Debug)]
pub struct PromTarget {
    pub name: String,
    pub client: PromClient,
    pub interval: Duration,
}

impl PromTarget {
    /// A target from its resolved URL, trusting also the CAs of `ca`; the error never holds
    /// the URL's credentials.
    pub fn from_url(
        name: &str,
        url: &str,
        ca: Option<&std::path::Path>,
        interval: Duration,
        timeout: Duration,
    ) -> Result<PromTarget, String> {
        let client =
            PromClient::with_ca(url, timeout, ca).map_err(|e| format!("target {name}: {e}"))?;
        Ok(PromTarget {
            name: name.to_string(),
            client,
            interval,
        })
    }

    /// The server without credentials, for messages.
    pub fn describe(&self) -> String {
        self.client.describe()
    }

    pub fn source_id(&self) -> SourceId {
        SourceId(format!("prom:{}", self.name))
    }
}

/// What one observation remembers for the next: volume usage, for growth rates.
pub type Memory = HashMap<(String, String), (u64, Timestamp)>;

/// Starts the source task: observes `target` every interval until `tx` is closed. A query
/// that fails or times out is sent as `Payload::Error`; the next tick asks again.
pub fn spawn(target: PromTarget, tx: mpsc::Sender<Observation>) -> JoinHandle<()> {
    tokio::spawn(run(target, tx))
}

async fn run(target: PromTarget, tx: mpsc::Sender<Observation>) {
    let source = target.source_id();
    let interval = target.interval.max(Duration::from_millis(10));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut memory = Memory::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = tx.closed() => break,
        }
        let at = Timestamp::now();
        let payloads = match observe(&target.client, &target.name, &mut memory, at).await {
            Ok(p) => p,
            Err(e) => vec![Payload::Error(DisplayText::new(&redact_str(
                &e.to_string(),
            )))],
        };
        for payload in payloads {
            let obs = Observation {
                source: source.clone(),
                at,
                interval,
                payload,
            };
            if tx.send(obs).await.is_err() {
                return;
            }
        }
    }
}

/// One look: Replication always (no standby series: no rows), Storage when kubelet
/// reports volumes. The first failed query fails the look.
pub async fn observe(
    client: &PromClient,
    name: &str,
    memory: &mut Memory,
    at: Timestamp,
) -> Result<Vec<Payload>, PromError> {
    let lag = client.query(figures::LAG).await?;
    let is_replica = client.query(figures::IS_REPLICA).await?;
    let wal = client.query(figures::WAL_RATE).await?;
    let used = client.query(figures::VOLUME_USED).await?;
    let capacity = client.query(figures::VOLUME_CAPACITY).await?;
    let mut out = vec![Payload::Replication(figures::replication(
        name,
        &lag,
        &is_replica,
        &wal,
    ))];
    let volumes = figures::volumes(&used, &capacity, memory, at);
    if !volumes.is_empty() {
        out.push(Payload::Storage(StorageSnapshot {
            volumes,
            slots: Vec::new(),
            snapshots: Vec::new(),
        }));
    }
    Ok(out)
}
