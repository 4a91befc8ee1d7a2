//! The producer task of one Kubernetes target: watch changes are coalesced into one figure
//! per burst (50 ms), usage and a liveness probe run every interval, failures are reported.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::KubeTarget;
use super::cache::KubeCache;
use super::fault::{describe_client, describe_watch};
use super::stats;
use super::watches::watches;
use crate::backends::kubernetes::connect;
use crate::sources::{Observation, Payload, Severity, SourceEvent, SourceId};
use crate::text::DisplayText;
use crate::time::Timestamp;

/// Changes arriving within this long of the first one go out as one figure.
pub const COALESCE: Duration = Duration::from_millis(50);
/// A watch that failed this long ago and has not failed since has recovered (its backoff
/// tops out at 5 s, so it has tried again by then).
const QUIET_AFTER_FAILURE: Duration = Duration::from_secs(6);

/// Starts the source task: watches `target` until `tx` is closed.
pub fn spawn(target: KubeTarget, tx: mpsc::Sender<Observation>) -> JoinHandle<()> {
    tokio::spawn(run(target, tx))
}

/// Sends one target's observations.
struct Out {
    source: SourceId,
    name: String,
    interval: Duration,
    tx: mpsc::Sender<Observation>,
}

impl Out {
    /// False once the console is gone.
    async fn send(&self, payload: Payload) -> bool {
        let obs = Observation {
            source: self.source.clone(),
            at: Timestamp::now(),
            interval: self.interval,
            payload,
        };
        self.tx.send(obs).await.is_ok()
    }

    async fn error(&self, message: &str) -> bool {
        let text = if message.starts_with("target ") {
            message.to_string()
        } else {
            format!("target {}: {message}", self.name)
        };
        self.send(Payload::Error(DisplayText::new(&text))).await
    }
}

/// What one interval's calls found.
struct Refreshed {
    probe: Result<(), String>,
    usage: HashMap<String, (u64, u64)>,
    stat_failures: Vec<String>,
    at: Timestamp,
}

/// Reads usage from the nodes and asks the API server one small question, under timeouts.
async fn refresh(
    client: kube::Client,
    namespace: String,
    nodes: BTreeSet<String>,
    timeout: Duration,
) -> Refreshed {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let probe = async {
        match tokio::time::timeout(timeout, pods.list(&ListParams::default().limit(1))).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("API server: {}", describe_client(&e))),
            Err(_) => Err(format!(
                "API server: no answer within {:.1}s",
                timeout.as_secs_f64()
            )),
        }
    };
    let usage = stats::usage(&client, nodes.into_iter().collect(), &namespace, timeout);
    let (probe, (usage, stat_failures)) = tokio::join!(probe, usage);
    Refreshed {
        probe,
        usage,
        stat_failures,
        at: Timestamp::now(),
    }
}

async fn run(target: KubeTarget, tx: mpsc::Sender<Observation>) {
    let interval = target.interval.max(Duration::from_millis(10));
    let out = Out {
        source: SourceId(format!("kube:{}", target.name())),
        name: target.name().to_string(),
        interval,
        tx,
    };
    let connected = loop {
        match connect(&target.target, target.timeout).await {
            Ok(c) => break c,
            Err(e) => {
                if !out.error(&e.to_string()).await {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = out.tx.closed() => return,
                }
            }
        }
    };
    let client = connected.client;
    let namespace = connected.namespace;
    let mut cache = KubeCache::new();
    let mut changes = watches(&client, &namespace);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let (done_tx, mut done_rx) = mpsc::channel::<Refreshed>(1);
    let mut refreshing = false;
    // Watches that failed and have not recovered, with when they last failed.
    let mut failing_watches: HashMap<&'static str, Instant> = HashMap::new();
    // An error is on screen: figures are held back until the target answers again.
    let mut failing = false;
    // The probe failed: watches may be hung on a dead connection; start them afresh.
    let mut restart_watches = false;
    let mut flush_at: Option<Instant> = None;
    let mut stat_failures: Vec<String> = Vec::new();
    loop {
        let flush = async move {
            match flush_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = out.tx.closed() => break,
            Some(change) = changes.next() => {
                let what = change.what();
                let applied = cache.apply(change);
                match applied.failure {
                    Some((what, e)) => {
                        failing_watches.insert(what, Instant::now());
                        failing = true;
                        if !out.error(&format!("watching {what}: {}", describe_watch(&e))).await {
                            return;
                        }
                    }
                    None => {
                        failing_watches.remove(what);
                    }
                }
                if !applied.events.is_empty() && !out.send(Payload::Events(applied.events)).await {
                    return;
                }
                if applied.changed && flush_at.is_none() {
                    flush_at = Some(Instant::now() + COALESCE);
                }
            }
            () = flush => {
                flush_at = None;
                if !failing && cache.ready()
                    && !out.send(Payload::Kube(cache.snapshot(&namespace))).await {
                    return;
                }
            }
            _ = ticker.tick(), if !refreshing => {
                refreshing = true;
                let done = done_tx.clone();
                let job = refresh(client.clone(), namespace.clone(), cache.stat_nodes(), target.timeout);
                tokio::spawn(async move {
                    let _ = done.send(job.await).await;
                });
            }
            Some(r) = done_rx.recv() => {
                refreshing = false;
                cache.set_usage(&r.usage, r.at);
                if r.stat_failures != stat_failures {
                    stat_failures = r.stat_failures;
                    let events: Vec<SourceEvent> = stat_failures
                        .iter()
                        .map(|f| SourceEvent {
                            at: r.at,
                            severity: Severity::Warn,
                            text: DisplayText::new(&format!("{}: volume usage: {f}", out.name)),
                        })
                        .collect();
                    if !events.is_empty() && !out.send(Payload::Events(events)).await {
                        return;
                    }
                }
                if let Err(e) = r.probe {
                    failing = true;
                    restart_watches = true;
                    if !out.error(&e).await {
                        return;
                    }
                    continue;
                }
                if restart_watches {
                    // A fresh list of everything; the old rows stay until it is done.
                    restart_watches = false;
                    changes = watches(&client, &namespace);
                }
                failing_watches.retain(|_, at| at.elapsed() < QUIET_AFTER_FAILURE);
                failing = !failing_watches.is_empty();
                if !failing && cache.ready() {
                    flush_at = None;
                    if !out.send(Payload::Kube(cache.snapshot(&namespace))).await {
                        return;
                    }
                }
            }
        }
    }
}
